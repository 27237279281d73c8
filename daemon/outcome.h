/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"
#include "outcome-types.h"

/* Every outcome of a block goes through outcome_block(): the core's own part (the properties that
 * changed) and then the subscriber, which is the bus when there is one. The core never calls the
 * bus: the bus subscribes here at bus_setup() and unsubscribes at bus_free(). The job's counters are
 * the onliner's (onliner_job()): it counts an outcome of the job before it reports it here. */

typedef struct OutcomeSubscriber {
        void (*block)(void *userdata, const Outcome *o);
        /* The queue ran dry; job is the finished job (onliner_job() is already reset). */
        void (*job_finished)(void *userdata, const Job *job);
        /* The daemon is stopping: whoever still waits for a block is told so now. */
        void (*stopping)(void *userdata);
} OutcomeSubscriber;

/* One subscriber at a time (-EBUSY otherwise). */
int outcome_subscribe(Manager *m, const OutcomeSubscriber *s, void *userdata);
void outcome_unsubscribe(Manager *m, const OutcomeSubscriber *s);

void outcome_block(Manager *m, const Outcome *o);
void outcome_job_finished(Manager *m, const Job *job);
void outcome_stopping(Manager *m);

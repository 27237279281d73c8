/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* Every outcome of a block goes through outcome_block(): the core's own part (the properties that
 * changed) and then the subscriber, which is the bus when there is one. The core never calls the
 * bus: the bus subscribes here at bus_setup() and unsubscribes at bus_free(). The job's counters are
 * the onliner's (onliner_job()): it counts an outcome of the job before it reports it here. */

typedef enum OutcomeKind {
        /* Block.state or Block.zone changed (onlined, offlined, by us or by someone else). */
        OUTCOME_STATE_CHANGED,
        /* Gone from the table, and so is its object. */
        OUTCOME_REMOVED,
        /* Its part in the job is over; result says how (see Outcome.result). */
        OUTCOME_HANDLED,
        /* Taken off the queue before it started (a later request overruled it): it leaves the job as
         * if it had never been part of it. */
        OUTCOME_WITHDRAWN,
} OutcomeKind;

typedef struct Outcome {
        OutcomeKind kind;
        unsigned index;
        /* OUTCOME_HANDLED: 0 onlined or offlined (raced: by another agent); -ENODEV removed before it
         * could be handled; -ECANCELED or -ESHUTDOWN (the exit) cancelled; -ETIMEDOUT timed out; any
         * other errno failed (for an offline, EBUSY or EINVAL: the kernel refused it).
         * OUTCOME_WITHDRAWN: -ECANCELED. */
        int result;
        bool raced;
        /* An offline that ended: why, in words (the OfflineProgress signal). NULL for an online. */
        const char *offline_reason;
} Outcome;

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

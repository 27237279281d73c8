/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* Every outcome of a block goes through outcome_block(): the core's own part (the properties that
 * changed) and then the subscriber, which is the bus when there is one. The core never calls the
 * bus: the bus subscribes here at bus_setup() and unsubscribes at bus_free(). The job's counters are
 * the onliner's (onliner_job()): it counts an outcome of the job before it reports it here. The
 * subscriber and the properties that changed are this stage's state (Outcomes, made with the
 * Manager: the core marks changes before the bus is up). */

/* Properties that changed since they were last announced on the bus (announced once per loop
 * iteration, however many blocks changed). */
enum {
        DIRTY_TOTALS = 1 << 0,
        DIRTY_JOB = 1 << 1,
        DIRTY_CONFIG = 1 << 2,
        DIRTY_KERNEL = 1 << 3,
        DIRTY_DEVICES = 1 << 4,
};

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
        /* A DIRTY_* flag was set: outcome_take_dirty() says which, once the work at hand is done. */
        void (*changed)(void *userdata);
} OutcomeSubscriber;

int outcome_new(Outcomes **ret);
Outcomes *outcome_free(Outcomes *o);

/* One subscriber at a time (-EBUSY otherwise). */
int outcome_subscribe(Manager *m, const OutcomeSubscriber *s, void *userdata);
void outcome_unsubscribe(Manager *m, const OutcomeSubscriber *s);

/* The core: these properties changed (DIRTY_*). */
void outcome_mark_dirty(Manager *m, unsigned what);
/* The bus: what changed since it last took the flags (outcome_dirty() leaves them set). */
unsigned outcome_dirty(const Manager *m);
unsigned outcome_take_dirty(Manager *m);

void outcome_block(Manager *m, const Outcome *o);
void outcome_job_finished(Manager *m, const Job *job);
void outcome_stopping(Manager *m);

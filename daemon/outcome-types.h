/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* What a block's outcome is, apart from outcome.h: the onliner, below the outcome stage, makes these
 * and hands them up through its hooks (onliner.h), which manager.c wires to outcome_block(). */

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

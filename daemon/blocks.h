/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "intake.h"
#include "manager.h"

/* What happens to a memory block that intake hands on (its facts read, ready): ask the policy (or
 * its device's rule), and queue it or say why not. */

/* The decision a block was queued with, for Plan: a dry run then would count the block's own queued
 * group against it ("group has memory in a kernel zone"). One for the blocks of a group. */
typedef struct QueuedWhy {
        OnlineType type;
        Zone zone;
        char *rule;
        DecisionBasis basis;
        OnlineType asked;
        bool have_valid_zones;
        PlacementResult placement; /* DECISION_AUTO_MOVABLE: the arithmetic */
} QueuedWhy;

/* What deciding hands on: it knows nothing of the stages above it (the onliner, outcome), so
 * manager.c wires these at setup. Each is called at once, where decide used to call the stage. */
typedef struct DecideHooks {
        /* Queue the block (onliner_enqueue()); recheck: read its state first, the kernel may online
         * it itself. not_before: µs on CLOCK_MONOTONIC, 0 for at once. */
        int (*queue)(void *userdata, unsigned index, int node, OnlineType type, Zone zone, bool recheck,
                     uint64_t not_before);
        /* The block left the queue unwritten (onliner_settle()); returns whether it was queued. */
        bool (*settle)(void *userdata, unsigned index, int result);
        /* It is gone from the table (outcome_block(), OUTCOME_REMOVED). */
        void (*removed)(void *userdata, unsigned index);
} DecideHooks;

/* What deciding remembers between blocks (private to blocks.c): the decisions the current job's
 * blocks were queued with, and the last Online=auto-movable one (logged once per group), and the
 * hooks. Made at start, before anything is decided. */
int decider_new(const DecideHooks *hooks, void *userdata, Decider **ret);
Decider *decider_free(Decider *d);

/* The stage above intake (intake.h): a block intake found ready is recorded, decided and queued, or
 * left as it is and why said. userdata is the Manager; manager.c wires these as IntakeHooks. */
int blocks_ready(void *userdata, unsigned index, const BlockFacts *f, bool from_add);
/* The "online", "offline" and "remove" uevents of a known block (and a block a scan no longer
 * finds). */
void blocks_on_online(void *userdata, unsigned index);
void blocks_on_offline(void *userdata, unsigned index);
void blocks_on_removed(void *userdata, unsigned index);
/* Decides again for these blocks (their device's decision came or changed): the offline ones that
 * are not queued and that nobody offlined on purpose. An IntakeHooks too. */
void blocks_reconsider(void *userdata, const unsigned *indices, size_t n);
/* The decision the block was queued with, NULL when it is not queued or none was kept. */
const QueuedWhy *blocks_queued_why(const Manager *m, unsigned index);
/* Its Online=auto-movable arithmetic, NULL when it had none; valid until the next block is queued.
 * An IntakeHooks (placement-facts.c counts a queued group with it). */
const PlacementResult *blocks_queued_arithmetic(void *userdata, unsigned index);
/* Frees the kept decisions: the job is over. */
void blocks_forget_queued_whys(Manager *m);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>

#include "manager.h"

/* What happens to a memory block when it appears or changes: read its facts from sysfs, ask the
 * policy (or its device's rule), and queue it or say why not. */

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

/* What deciding remembers between blocks (private to blocks.c): the decisions the current job's
 * blocks were queued with, and the last Online=auto-movable one (logged once per group). Made at
 * start, before anything is decided. */
int decider_new(Decider **ret);
Decider *decider_free(Decider *d);

/* Makes the timer of blocks_retry_later(). */
int blocks_setup(Manager *m);
/* A block (or, with BLOCK_INDEX_NONE, a uevent) could not be handled for want of memory: a scan
 * looks at it again in a moment. Allocates nothing. */
#define BLOCK_INDEX_NONE UINT_MAX
void blocks_retry_later(Manager *m, unsigned index);
/* A "memory" uevent. */
void blocks_on_uevent(Manager *m, const char *action, const char *sysname);
/* Handles every block not seen yet; with all, also the ones the policy or a failure left offline
 * (after a reload, the policy may say otherwise now). Blocks that vanished are forgotten. */
int blocks_scan(Manager *m, bool all);
/* Decides again for these blocks (their device's decision came or changed): the offline ones that
 * are not queued and that nobody offlined on purpose. */
void blocks_reconsider(Manager *m, const unsigned *indices, size_t n);
/* The decision the block was queued with, NULL when it is not queued or none was kept. */
const QueuedWhy *blocks_queued_why(const Manager *m, unsigned index);
/* Frees the kept decisions: the job is over. */
void blocks_forget_queued_whys(Manager *m);
/* One job per hot-add: called when a job that onlined blocks is about to finish. An online write
 * returns only once the kernel's add is over (it waits for device_hotplug_lock), so every block of
 * the burst exists and is linked to its node by now: the ones whose "add" is still queued on the
 * socket, or that still wait for their link, are queued into the same job. */
void blocks_collect_burst(Manager *m);

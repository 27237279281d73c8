/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memtypes.h"

/* The chunk planner: blocks waiting to be onlined, handed out in chunks ordered by node and then
 * physical address, so a node's memory comes online contiguously from the bottom up; blocks to
 * offline come after them, from the top address down. Pure: no I/O. */

typedef struct QueueEntry {
        unsigned index;
        int node; /* -1 (unknown) sorts last */
        uint64_t phys_index;
        OnlineType type;
        Zone zone;
        unsigned attempts;
        bool recheck;        /* read the state first: the kernel may online it itself */
        bool requested;      /* asked for over D-Bus, not decided by the policy */
        uint64_t not_before; /* CLOCK_MONOTONIC usec; 0 means at once */
} QueueEntry;

typedef struct Queue {
        QueueEntry *entries;
        size_t n, allocated;
        bool sorted;
} Queue;

int queue_push(Queue *q, const QueueEntry *e);
/* Drops the entry for this block, if any; returns whether there was one. */
bool queue_remove(Queue *q, unsigned index);
size_t queue_size(const Queue *q);
/* Whether an entry is ready at now. */
bool queue_has_ready(Queue *q, uint64_t now);
/* Moves up to max entries that are ready at now into ret, in (node, phys_index) order, and
 * returns how many. *ret_next is the earliest not_before of the entries left waiting, or 0. */
size_t queue_take_chunk(Queue *q, size_t max, uint64_t now, QueueEntry *ret, uint64_t *ret_next);
void queue_clear(Queue *q);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Where a block is in its life. One value at a time: a block in the queue is in nothing else, and
 * only block_dequeued() (or block_forget()) takes it out, whatever is learnt of it meanwhile, since
 * the queue holds it until then. */
typedef enum BlockLife {
        BLOCK_LIFE_ABSENT,       /* never seen, or removed: nothing else in Block is valid */
        BLOCK_LIFE_PRESENT,      /* present, and state/zone/node are valid; nothing pending */
        BLOCK_LIFE_QUEUED,       /* waiting in the onliner's queue (an offline too: see hold) */
        BLOCK_LIFE_LEFT_OFFLINE, /* left offline by the policy: reconsidered on reload */
        BLOCK_LIFE_FAILED,       /* onlining failed for good: reconsidered on reload */
        _BLOCK_LIFE_MAX,
} BlockLife;

/* Why a block is kept offline, whatever the policy says: never onlined again by the policy until it
 * is re-added or onlined by request. Apart from the life, because the two coexist: an offline we were
 * asked for is QUEUED with REQUESTED; marks are read before the blocks are (ABSENT with MARK). The
 * reason is for the reader; every reason holds the block the same way. */
typedef enum BlockHold {
        BLOCK_HOLD_NONE,
        BLOCK_HOLD_OTHER,     /* offlined by someone else */
        BLOCK_HOLD_REQUESTED, /* offlined by a request of ours (OfflineBlocks, PrepareUnplug) */
        BLOCK_HOLD_MARK,      /* offlined on purpose before a restart (offline-marks.c) */
        _BLOCK_HOLD_MAX,
} BlockHold;

/* What is known of a block that no event changes, kept so that sysfs is not read again: none of it
 * says what happens to the block next, so it is no part of its life. */
enum {
        BLOCK_FACT_ZONES_KNOWN = 1 << 0,     /* valid_zones and default_zone below were read */
        BLOCK_FACT_REMOVABLE_KNOWN = 1 << 1, /* "removable" was read ... */
        BLOCK_FACT_REMOVABLE = 1 << 2,       /* ... and said 1 */
        BLOCK_FACT_EARLY = 1 << 3,           /* boot memory: first seen by a scan, online in a kernel zone */
};

/* What the manager remembers of a block between events; all of it can be rebuilt from sysfs. */
typedef struct Block {
        int32_t node;         /* -1: unknown */
        uint8_t state;        /* BlockState */
        uint8_t zone;         /* Zone of an online block; 0 when offline or not known */
        uint8_t valid_zones;  /* Zone mask of valid_zones when it was last read */
        uint8_t default_zone; /* its first entry */
        uint8_t life;         /* BlockLife: changed only by the functions below */
        uint8_t hold : 4;     /* BlockHold: likewise */
        uint8_t facts : 4;    /* BLOCK_FACT_* */
        uint8_t planned_zone; /* Zone it is queued for (counted by Online=auto-movable) */
        /* Intake's mark, apart from the life as it coexists with every value of it: handling the
         * block ran out of memory, and the retry scan takes it (intake.c). */
        bool retry;
        uint32_t burst;      /* the hot-add burst its "add" came in (intake.c); 0: none */
        uint32_t queued_why; /* while queued: 1 + its decision's index in the Decider's (blocks.c) */
} Block;

static inline bool block_known(const Block *b)
{
        return b->life != BLOCK_LIFE_ABSENT;
}

static inline bool block_held(const Block *b)
{
        return b->hold != BLOCK_HOLD_NONE;
}

/* The moves; each says what it leaves alone. The life's are read in one screen in block.c. */

/* Its facts were just read: ABSENT, LEFT_OFFLINE and FAILED become PRESENT (a decision follows). */
void block_seen(Block *b);
/* Online now, or asked to be: no hold; LEFT_OFFLINE and FAILED become PRESENT. ABSENT stays. */
void block_onlined(Block *b);
/* Into the queue: a known block becomes QUEUED. An ABSENT one is never queued. */
void block_queued(Block *b);
/* Out of the queue (taken to be written, settled, dropped): QUEUED becomes PRESENT. */
void block_dequeued(Block *b);
/* The policy leaves it offline: PRESENT becomes LEFT_OFFLINE; QUEUED stays. */
void block_left_offline(Block *b);
/* Onlining it failed for good (it was taken out of the queue): PRESENT becomes FAILED. */
void block_failed(Block *b);
/* A reload looks at what the policy left offline again: LEFT_OFFLINE becomes PRESENT. */
void block_reconsidered(Block *b);
/* Gone while we wrote to it: ABSENT, no hold, no facts, no retry mark. */
void block_forget(Block *b);

/* Held offline for this reason (not BLOCK_HOLD_NONE). */
void block_hold(Block *b, BlockHold why);
/* No longer held: re-added, onlined, or the offline we asked for did not happen. */
void block_release(Block *b);
/* Offlined by someone else: held (OTHER), unless what we do accounts for it: queued, left offline
 * or failed by the policy, or held already. Returns whether it took the hold. */
bool block_hold_offlined(Block *b);

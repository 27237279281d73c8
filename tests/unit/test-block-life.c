/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "block.h"
#include "tap.h"

/* Every move played from every life, with and without a hold: where it goes, and what else it
 * clears. A row of the table is one move; its columns are the lives it starts from. */

#define A BLOCK_LIFE_ABSENT
#define P BLOCK_LIFE_PRESENT
#define Q BLOCK_LIFE_QUEUED
#define L BLOCK_LIFE_LEFT_OFFLINE
#define F BLOCK_LIFE_FAILED

static const char *const life_names[_BLOCK_LIFE_MAX] = { "absent", "present", "queued", "left-offline",
                                                         "failed" };

typedef struct Move {
        const char *name;
        void (*fn)(Block *b);
        BlockLife to[_BLOCK_LIFE_MAX]; /* by the life it starts from */
        bool releases;                 /* drops the hold */
} Move;

static const Move moves[] = {
        { "seen", block_seen, { P, P, Q, P, P }, false },
        { "onlined", block_onlined, { A, P, Q, P, P }, true },
        { "queued", block_queued, { A, Q, Q, Q, Q }, false },
        { "dequeued", block_dequeued, { A, P, P, L, F }, false },
        { "left_offline", block_left_offline, { A, L, Q, L, F }, false },
        { "failed", block_failed, { A, F, Q, L, F }, false },
        { "reconsidered", block_reconsidered, { A, P, Q, P, F }, false },
        { "forget", block_forget, { A, A, A, A, A }, true },
        { "release", block_release, { A, P, Q, L, F }, true },
};

static Block block_in(BlockLife life, BlockHold hold)
{
        /* Facts and the retry mark set, to see which moves clear them. */
        return (Block){ .node = 3,
                        .life = life,
                        .hold = hold,
                        .facts = BLOCK_FACT_ZONES_KNOWN | BLOCK_FACT_EARLY,
                        .retry = true };
}

static void test_moves(void)
{
        for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
                const Move *mv = &moves[i];

                for (BlockLife from = 0; from < _BLOCK_LIFE_MAX; from++) {
                        Block b = block_in(from, BLOCK_HOLD_REQUESTED);
                        bool forget = mv->fn == block_forget;

                        mv->fn(&b);
                        tap_ok(b.life == mv->to[from] &&
                                       b.hold == (mv->releases ? BLOCK_HOLD_NONE : BLOCK_HOLD_REQUESTED) &&
                                       b.facts == (forget ? 0 : BLOCK_FACT_ZONES_KNOWN | BLOCK_FACT_EARLY) &&
                                       b.retry == !forget && b.node == 3,
                               "%s from %s: %s, hold %s", mv->name, life_names[from],
                               life_names[mv->to[from]], mv->releases ? "dropped" : "kept");
                }
        }
}

static void test_holds(void)
{
        Block b;

        /* Offlined by someone else: held only where nothing of ours accounts for the offline. */
        for (BlockLife from = 0; from < _BLOCK_LIFE_MAX; from++) {
                bool want = from == A || from == P;

                b = block_in(from, BLOCK_HOLD_NONE);
                tap_ok(block_hold_offlined(&b) == want &&
                               b.hold == (want ? BLOCK_HOLD_OTHER : BLOCK_HOLD_NONE) && b.life == from,
                       "offlined by someone else from %s: %s", life_names[from], want ? "held" : "not held");
        }
        /* A hold already there keeps its reason. */
        b = block_in(P, BLOCK_HOLD_MARK);
        tap_ok(!block_hold_offlined(&b) && b.hold == BLOCK_HOLD_MARK, "a marked block stays marked");

        /* An offline request: held, then queued; the hold outlives the queue (the write is on a
         * thread), and a failed offline releases it. */
        b = block_in(P, BLOCK_HOLD_NONE);
        block_hold(&b, BLOCK_HOLD_REQUESTED);
        block_queued(&b);
        tap_ok(b.life == Q && b.hold == BLOCK_HOLD_REQUESTED, "an offline request: queued and held");
        block_seen(&b);
        block_left_offline(&b);
        tap_ok(b.life == Q && b.hold == BLOCK_HOLD_REQUESTED,
               "what is learnt while queued leaves it queued");
        block_dequeued(&b);
        tap_ok(b.life == P && b.hold == BLOCK_HOLD_REQUESTED, "taken from the queue: still held");
        block_release(&b);
        tap_ok(b.life == P && !block_held(&b), "the offline failed: released");

        /* A mark is read before the block: absent and held, until its facts are read. */
        b = (Block){ .node = -1 };
        block_hold(&b, BLOCK_HOLD_MARK);
        tap_ok(!block_known(&b) && block_held(&b), "a mark on a block not yet read");
        block_seen(&b);
        tap_ok(block_known(&b) && b.hold == BLOCK_HOLD_MARK, "read: present, still marked");
}

int main(void)
{
        test_moves();
        test_holds();
        return tap_done();
}

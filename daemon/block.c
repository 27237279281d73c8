/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "block.h"

/* Every move of a block's life, in one place (tests/unit/test-block-life.c plays each from every
 * value):
 *
 *   ABSENT ---seen---> PRESENT ---queued---> QUEUED ---dequeued---> PRESENT
 *   LEFT_OFFLINE, FAILED ---queued---> QUEUED (an offline request for a block still online, which
 *                                              overrules the policy's verdict as an online one does)
 *   PRESENT ---left_offline---> LEFT_OFFLINE ---seen, onlined, reconsidered---> PRESENT
 *   PRESENT ---failed---> FAILED ---seen, onlined---> PRESENT
 *   any ---forget---> ABSENT
 *
 * Any other move leaves the life as it is.
 *
 * A QUEUED block leaves the queue only by dequeued (or forget): what is learnt meanwhile (a new
 * read, a decision to leave it offline) waits for its turn to be written. */

static void move(Block *b, BlockLife from, BlockLife to)
{
        if (b->life == from)
                b->life = to;
}

void block_seen(Block *b)
{
        assert(b);

        if (b->life != BLOCK_LIFE_QUEUED)
                b->life = BLOCK_LIFE_PRESENT;
}

void block_onlined(Block *b)
{
        assert(b);

        b->hold = BLOCK_HOLD_NONE;
        if (b->life == BLOCK_LIFE_LEFT_OFFLINE || b->life == BLOCK_LIFE_FAILED)
                b->life = BLOCK_LIFE_PRESENT;
}

void block_queued(Block *b)
{
        assert(b);

        if (b->life != BLOCK_LIFE_ABSENT)
                b->life = BLOCK_LIFE_QUEUED;
}

void block_dequeued(Block *b)
{
        assert(b);

        move(b, BLOCK_LIFE_QUEUED, BLOCK_LIFE_PRESENT);
}

void block_left_offline(Block *b)
{
        assert(b);

        move(b, BLOCK_LIFE_PRESENT, BLOCK_LIFE_LEFT_OFFLINE);
}

void block_failed(Block *b)
{
        assert(b);

        move(b, BLOCK_LIFE_PRESENT, BLOCK_LIFE_FAILED);
}

void block_reconsidered(Block *b)
{
        assert(b);

        move(b, BLOCK_LIFE_LEFT_OFFLINE, BLOCK_LIFE_PRESENT);
}

void block_forget(Block *b)
{
        assert(b);

        b->life = BLOCK_LIFE_ABSENT;
        b->hold = BLOCK_HOLD_NONE;
        b->facts = 0;
        b->retry = false;
}

void block_hold(Block *b, BlockHold why)
{
        assert(why > BLOCK_HOLD_NONE && why < _BLOCK_HOLD_MAX);
        assert(b);
        b->hold = why;
}

void block_release(Block *b)
{
        assert(b);

        b->hold = BLOCK_HOLD_NONE;
}

bool block_hold_offlined(Block *b)
{
        assert(b);

        if (block_held(b) || (b->life != BLOCK_LIFE_ABSENT && b->life != BLOCK_LIFE_PRESENT))
                return false;
        b->hold = BLOCK_HOLD_OTHER;
        return true;
}

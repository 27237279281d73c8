/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "queue.h"
#include "tap.h"

static void push(Queue *q, unsigned index, int node, uint64_t not_before)
{
        QueueEntry e = { .index = index,
                         .node = node,
                         .phys_index = index,
                         .type = ONLINE_TYPE_MOVABLE,
                         .not_before = not_before };

        if (queue_push(q, &e) < 0)
                abort();
}

static void test_order_and_chunks(void)
{
        Queue q = {};
        QueueEntry chunk[4];
        unsigned want[] = { 2, 5, 9, 11, 1, 3, 7, 8, 4 };
        unsigned got[16], n_got = 0;
        uint64_t next;
        size_t n, chunks = 0;
        bool max_ok = true;

        /* Arrival order as readdir gives it: not sorted. Node -1 is unknown. */
        push(&q, 7, 1, 0);
        push(&q, 11, 0, 0);
        push(&q, 2, 0, 0);
        push(&q, 4, -1, 0);
        push(&q, 3, 1, 0);
        push(&q, 9, 0, 0);
        push(&q, 1, 1, 0);
        push(&q, 5, 0, 0);
        push(&q, 8, 1, 0);

        while ((n = queue_take_chunk(&q, 4, 100, chunk, &next)) > 0) {
                chunks++;
                max_ok = max_ok && n <= 4;
                for (size_t i = 0; i < n; i++)
                        got[n_got++] = chunk[i].index;
        }
        tap_ok(max_ok, "no chunk is larger than the limit");
        tap_is_int(chunks, 3, "9 blocks in chunks of 4 make 3 chunks");
        tap_is_int(n_got, 9, "every block handed out once");
        bool order = n_got == 9;
        for (unsigned i = 0; order && i < 9; i++)
                order = got[i] == want[i];
        tap_ok(order, "ordered by node (unknown last), then by physical address");
        tap_is_int(queue_size(&q), 0, "queue empty");
        queue_clear(&q);
}

static void test_not_before(void)
{
        Queue q = {};
        QueueEntry chunk[8];
        uint64_t next = 0;
        size_t n;

        push(&q, 1, 0, 0);
        push(&q, 2, 0, 500);
        push(&q, 3, 0, 300);
        n = queue_take_chunk(&q, 8, 100, chunk, &next);
        tap_ok(n == 1 && chunk[0].index == 1, "only ready entries are taken");
        tap_is_int(next, 300, "the earliest waiting entry sets the next wakeup");
        tap_ok(!queue_has_ready(&q, 299) && queue_has_ready(&q, 300), "ready exactly at not_before");
        n = queue_take_chunk(&q, 8, 1000, chunk, &next);
        tap_ok(n == 2 && chunk[0].index == 2 && chunk[1].index == 3 && next == 0,
               "later, both are handed out");
        queue_clear(&q);
}

/* A queue that never held an entry has no array: taking from it is no work (UBSan flagged a
 * qsort() of NULL here under the sanitizer pass). */
static void test_empty(void)
{
        Queue q = {};
        QueueEntry chunk[4];
        uint64_t next = 1;

        tap_ok(queue_take_chunk(&q, 4, 0, chunk, &next) == 0 && next == 0,
               "an empty queue hands out nothing");
        queue_clear(&q);
}

static void test_remove(void)
{
        Queue q = {};
        QueueEntry chunk[8];
        uint64_t next;

        push(&q, 10, 0, 0);
        push(&q, 11, 0, 0);
        push(&q, 12, 0, 0);
        tap_ok(queue_remove(&q, 11), "remove a queued block");
        tap_ok(!queue_remove(&q, 11), "removing it again finds nothing");
        tap_ok(queue_take_chunk(&q, 8, 0, chunk, &next) == 2 && chunk[0].index == 10 && chunk[1].index == 12,
               "the rest stays in order");
        queue_clear(&q);
}

static void test_many(void)
{
        Queue q = {};
        QueueEntry chunk[64];
        uint64_t next;
        size_t n, total = 0;
        bool sorted = true;
        uint64_t last = 0;

        /* A boot-sized queue, pushed in reverse: must come out ascending. */
        for (unsigned i = 8192; i > 0; i--)
                push(&q, i, 0, 0);
        while ((n = queue_take_chunk(&q, 64, 0, chunk, &next)) > 0)
                for (size_t i = 0; i < n; i++, total++) {
                        sorted = sorted && chunk[i].phys_index > last;
                        last = chunk[i].phys_index;
                }
        tap_is_int(total, 8192, "8192 blocks handed out");
        tap_ok(sorted, "in ascending order");
        queue_clear(&q);
}

static void test_offline_order(void)
{
        static const unsigned want[] = { 3, 9, 40, 12, 5, 1 };
        Queue q = {};
        QueueEntry chunk[8];
        size_t n;
        uint64_t next;
        bool ok = true;

        /* Onlines 3 (node 0) and 9 (node 1), offlines 5, 40, 1, 12 on either node. */
        push(&q, 9, 1, 0);
        push(&q, 3, 0, 0);
        for (unsigned i = 0; i < 4; i++) {
                static const unsigned idx[] = { 5, 40, 1, 12 };
                QueueEntry e = { .index = idx[i],
                                 .node = (int)(i % 2),
                                 .phys_index = idx[i],
                                 .type = ONLINE_TYPE_OFFLINE };

                (void)queue_push(&q, &e);
        }
        n = queue_take_chunk(&q, 8, 0, chunk, &next);
        tap_is_int(n, 6, "six entries");
        for (size_t i = 0; i < n && i < 6; i++)
                ok = ok && chunk[i].index == want[i];
        tap_ok(ok, "onlines first by node and address, then offlines from the top address down");
        queue_clear(&q);
}

int main(void)
{
        test_offline_order();
        test_order_and_chunks();
        test_not_before();
        test_empty();
        test_remove();
        test_many();
        return tap_done();
}

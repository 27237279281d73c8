/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

static int entry_cmp(const void *a, const void *b)
{
        const QueueEntry *x = a, *y = b;
        /* Unsigned, so node -1 (unknown) goes after every real node. */
        unsigned nx = (unsigned)x->node, ny = (unsigned)y->node;
        bool ox = x->type == ONLINE_TYPE_OFFLINE, oy = y->type == ONLINE_TYPE_OFFLINE;

        /* Offlines after onlines, from the top address down: the reverse of the order memory came
         * online in, as an unplug takes it (the highest blocks were used last). */
        if (ox != oy)
                return ox ? 1 : -1;
        if (ox)
                return x->phys_index > y->phys_index ? -1 : x->phys_index < y->phys_index;
        if (nx != ny)
                return nx < ny ? -1 : 1;
        if (x->phys_index != y->phys_index)
                return x->phys_index < y->phys_index ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

int queue_push(Queue *q, const QueueEntry *e)
{
        assert(q);
        assert(e);

        if (q->n == q->allocated) {
                size_t a = q->allocated ? q->allocated * 2 : 64;
                QueueEntry *n = realloc(q->entries, a * sizeof(QueueEntry));

                if (!n)
                        return -ENOMEM;
                q->entries = n;
                q->allocated = a;
        }
        /* Appending and sorting once before the next chunk keeps a boot-time scan of thousands of
         * blocks O(n log n). */
        q->entries[q->n++] = *e;
        q->sorted = false;
        return 0;
}

bool queue_remove(Queue *q, unsigned index)
{
        assert(q);

        for (size_t i = 0; i < q->n; i++)
                if (q->entries[i].index == index) {
                        memmove(q->entries + i, q->entries + i + 1, (q->n - i - 1) * sizeof(QueueEntry));
                        q->n--;
                        return true;
                }
        return false;
}

size_t queue_size(const Queue *q)
{
        assert(q);

        return q->n;
}

bool queue_has_ready(Queue *q, uint64_t now)
{
        assert(q);

        for (size_t i = 0; i < q->n; i++)
                if (q->entries[i].not_before <= now)
                        return true;
        return false;
}

size_t queue_take_chunk(Queue *q, size_t max, uint64_t now, QueueEntry *ret, uint64_t *ret_next)
{
        size_t taken = 0, kept = 0;
        uint64_t next = 0;

        assert(q);
        assert(ret);
        assert(ret_next);

        /* An empty queue may have no array: qsort() must not be handed NULL. */
        if (!q->sorted && q->n > 0) {
                qsort(q->entries, q->n, sizeof(QueueEntry), entry_cmp);
                q->sorted = true;
        }

        for (size_t i = 0; i < q->n; i++) {
                QueueEntry *e = &q->entries[i];

                if (taken < max && e->not_before <= now) {
                        ret[taken++] = *e;
                        continue;
                }
                if (e->not_before > now && (next == 0 || e->not_before < next))
                        next = e->not_before;
                q->entries[kept++] = *e;
        }
        q->n = kept;
        *ret_next = next;
        return taken;
}

void queue_clear(Queue *q)
{
        assert(q);

        free(q->entries);
        *q = (Queue){};
}

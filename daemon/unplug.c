/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi-memory.h"
#include "devices.h"
#include "macro.h"
#include "parse-util.h"
#include "platform-facts.h"
#include "unplug.h"

static int push(unsigned **list, size_t *n, unsigned index)
{
        unsigned *l = reallocarray(*list, *n + 1, sizeof(unsigned));

        if (!l)
                return -ENOMEM;
        l[(*n)++] = index;
        *list = l;
        return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

        return x < y ? -1 : x > y;
}

/* The kernel links an ACPI memory device to each of its blocks: physical_node, physical_node1, … */
typedef struct BlockList {
        unsigned *indices;
        size_t n;
} BlockList;

static int push_one(unsigned index, void *userdata)
{
        BlockList *l = userdata;

        return push(&l->indices, &l->n, index);
}

static int acpi_blocks(Manager *m, const char *name, unsigned **ret, size_t *ret_n)
{
        BlockList l = {};
        int r;

        r = acpi_memory_device_blocks(m->sysfs, name, push_one, &l);
        if (r < 0) {
                free(l.indices);
                return r == -ENOMEM ? r : -ENODEV;
        }
        *ret = l.indices;
        *ret_n = l.n;
        return 0;
}

/* The present blocks that overlap [start, end]. */
static int range_blocks(Manager *m, uint64_t start, uint64_t end, unsigned **ret, size_t *ret_n)
{
        _cleanup_(freep) unsigned *l = NULL;
        size_t n = 0;
        int r;

        for (uint64_t i = start / m->block_size; i <= end / m->block_size && i < m->n_blocks; i++)
                if (manager_block_present(m, (unsigned)i)) {
                        r = push(&l, &n, (unsigned)i);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

/* The blocks in the device's region, from /proc/iomem as opened at start (virtio-mem.h), read
 * again now. */
static int virtio_blocks(Manager *m, const char *name, unsigned **ret, size_t *ret_n)
{
        const IomemVirtioMem *d;
        int r;

        r = virtio_mem_read(&m->platform->virtio_mem, m->sysfs, m->block_size);
        if (r < 0)
                return r == -ENOMEM ? r : -EPERM;
        /* Started without CAP_SYS_ADMIN: the kernel hides the addresses from us. */
        if (m->platform->virtio_mem.hidden)
                return -EPERM;
        d = virtio_mem_find(&m->platform->virtio_mem, name);
        if (!d)
                return -ENODEV;
        return range_blocks(m, d->region.start, d->region.end, ret, ret_n);
}

int unplug_target_blocks(Manager *m, const char *target, UnplugKind *ret_kind, unsigned **ret, size_t *ret_n,
                         unsigned *ret_missing)
{
        _cleanup_(freep) unsigned *l = NULL;
        UnplugTarget t;
        UnplugKind kind;
        size_t n = 0;
        Device *dev;
        int r;

        assert(m);
        assert(target);
        assert(ret_kind);
        assert(ret);
        assert(ret_n);
        assert(ret_missing);

        r = unplug_target_parse(target, &t);
        if (r < 0)
                return r;
        kind = t.kind;
        if (kind == UNPLUG_BLOCKS) {
                for (uint64_t i = t.first; i <= t.last; i++) {
                        if (!manager_block_present(m, (unsigned)i)) {
                                *ret_missing = (unsigned)i;
                                return -ENOENT;
                        }
                        r = push(&l, &n, (unsigned)i);
                        if (r < 0)
                                return r;
                }
        } else if (kind == UNPLUG_ADDRESSES) {
                r = range_blocks(m, t.start, t.end, &l, &n);
                if (r < 0)
                        return r;
        } else if (kind == UNPLUG_DAX) {
                dev = devices_find(m, target);
                if (!dev)
                        return -ENODEV;
                r = devices_blocks(m, dev, &l, &n);
                if (r < 0)
                        return r;
        } else if (kind == UNPLUG_VIRTIO) {
                r = virtio_blocks(m, target, &l, &n);
                if (r < 0)
                        return r;
        } else {
                r = acpi_blocks(m, target, &l, &n);
                if (r < 0)
                        return r;
                /* Only blocks we know: one being added or removed right now is left out. */
                for (size_t i = 0; i < n;)
                        if (manager_block_present(m, l[i]))
                                i++;
                        else
                                l[i] = l[--n];
        }

        if (n == 0)
                return -ENODEV;
        qsort(l, n, sizeof(unsigned), cmp_unsigned);
        *ret_kind = kind;
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int unplug_check_removable(Manager *m, const unsigned *blocks, size_t n, unsigned *ret_index)
{
        assert(m);
        assert(blocks);
        assert(ret_index);

        for (size_t i = n; i > 0; i--) {
                const Block *b = &m->blocks[blocks[i - 1]];

                if (b->state == BLOCK_ONLINE && (b->zone & ZONES_KERNEL)) {
                        *ret_index = blocks[i - 1];
                        return -EXDEV;
                }
        }
        return 0;
}

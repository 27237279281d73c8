/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
#include "unplug.h"

static int parse_block(const char *s, unsigned *ret)
{
        if (parse_block_name(s, ret) >= 0)
                return 0;
        return parse_unsigned(s, 0, BLOCK_INDEX_MAX, ret);
}

/* "A-B" into a copy holding "A" and "B"; "A" alone gives "A" twice. */
static int split_range(const char *s, char **ret_copy, const char **ret_first, const char **ret_last)
{
        char *copy = strdup(s), *dash;

        if (!copy)
                return -ENOMEM;
        dash = strchr(copy, '-');
        if (dash)
                *dash = '\0';
        *ret_copy = copy;
        *ret_first = copy;
        *ret_last = dash ? dash + 1 : copy;
        return 0;
}

/* "N", "memoryN", "N-M", "memoryN-memoryM". */
static int parse_range(const char *s, unsigned *ret_first, unsigned *ret_last)
{
        _cleanup_(freep) char *copy = NULL;
        const char *a, *b;

        if (split_range(s, &copy, &a, &b) < 0)
                return -ENOMEM;
        if (parse_block(a, ret_first) < 0 || parse_block(b, ret_last) < 0)
                return -EINVAL;
        return *ret_first <= *ret_last ? 0 : -EINVAL;
}

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

/* "0x140000000-0x17fffffff": the first and last byte. */
static int parse_address_range(const char *s, uint64_t *ret_start, uint64_t *ret_end)
{
        _cleanup_(freep) char *copy = NULL;
        const char *a, *b;

        if (split_range(s, &copy, &a, &b) < 0)
                return -ENOMEM;
        if (a == b || strncmp(a, "0x", 2) != 0 || strncmp(b, "0x", 2) != 0 ||
            parse_hex_u64(a, ret_start) < 0 || parse_hex_u64(b, ret_end) < 0)
                return -EINVAL;
        return *ret_start <= *ret_end ? 0 : -EINVAL;
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

        r = virtio_mem_read(&m->virtio_mem, m->sysfs, m->block_size);
        if (r < 0)
                return r == -ENOMEM ? r : -EPERM;
        /* Started without CAP_SYS_ADMIN: the kernel hides the addresses from us. */
        if (m->virtio_mem.hidden)
                return -EPERM;
        d = virtio_mem_find(&m->virtio_mem, name);
        if (!d)
                return -ENODEV;
        return range_blocks(m, d->region.start, d->region.end, ret, ret_n);
}

int unplug_target_blocks(Manager *m, const char *target, UnplugKind *ret_kind, unsigned **ret, size_t *ret_n,
                         unsigned *ret_missing)
{
        _cleanup_(freep) unsigned *l = NULL;
        unsigned first, last, index;
        uint64_t start, end;
        UnplugKind kind;
        size_t n = 0;
        Device *dev;
        int r;

        if (parse_range(target, &first, &last) >= 0) {
                kind = UNPLUG_BLOCKS;
                for (uint64_t i = first; i <= last; i++) {
                        if (!manager_block_present(m, (unsigned)i)) {
                                *ret_missing = (unsigned)i;
                                return -ENOENT;
                        }
                        r = push(&l, &n, (unsigned)i);
                        if (r < 0)
                                return r;
                }
        } else if (parse_address_range(target, &start, &end) >= 0) {
                kind = UNPLUG_ADDRESSES;
                r = range_blocks(m, start, end, &l, &n);
                if (r < 0)
                        return r;
        } else if (strncmp(target, "dax", 3) == 0) {
                kind = UNPLUG_DAX;
                dev = devices_find(m, target);
                if (!dev)
                        return -ENODEV;
                r = devices_blocks(m, dev, &l, &n);
                if (r < 0)
                        return r;
        } else if (parse_sysname_index(target, "virtio", UINT_MAX, &index) >= 0) {
                kind = UNPLUG_VIRTIO;
                r = virtio_blocks(m, target, &l, &n);
                if (r < 0)
                        return r;
        } else if (strchr(target, ':')) {
                kind = UNPLUG_ACPI;
                r = acpi_blocks(m, target, &l, &n);
                if (r < 0)
                        return r;
                /* Only blocks we know: one being added or removed right now is left out. */
                for (size_t i = 0; i < n;)
                        if (manager_block_present(m, l[i]))
                                i++;
                        else
                                l[i] = l[--n];
        } else
                return -EINVAL;

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
        for (size_t i = n; i > 0; i--) {
                const Block *b = &m->blocks[blocks[i - 1]];

                if (b->state == BLOCK_ONLINE && (b->zone & ZONES_KERNEL)) {
                        *ret_index = blocks[i - 1];
                        return -EXDEV;
                }
        }
        return 0;
}

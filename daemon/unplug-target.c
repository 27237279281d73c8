/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "unplug-target.h"

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

int unplug_target_parse(const char *target, UnplugTarget *ret)
{
        UnplugTarget t = {};
        unsigned index;
        int r;

        assert(target);
        assert(ret);

        r = parse_range(target, &t.first, &t.last);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                t.kind = UNPLUG_BLOCKS;
                *ret = t;
                return 0;
        }
        r = parse_address_range(target, &t.start, &t.end);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                t.kind = UNPLUG_ADDRESSES;
        else if (strncmp(target, "dax", 3) == 0)
                t.kind = UNPLUG_DAX;
        else if (parse_sysname_index(target, "virtio", UINT_MAX, &index) >= 0)
                t.kind = UNPLUG_VIRTIO;
        else if (strchr(target, ':'))
                t.kind = UNPLUG_ACPI;
        else
                return -EINVAL;
        *ret = t;
        return 0;
}

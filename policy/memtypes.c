/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "memtypes.h"
#include "string-table.h"

static const char *const online_type_table[_ONLINE_TYPE_MAX] = {
        [ONLINE_TYPE_OFFLINE] = "offline",
        [ONLINE_TYPE_ONLINE] = "online",
        [ONLINE_TYPE_KERNEL] = "kernel",
        [ONLINE_TYPE_MOVABLE] = "movable",
        [ONLINE_TYPE_AUTO_MOVABLE] = "auto-movable",
        [ONLINE_TYPE_PLATFORM] = "platform",
};

/* The word written to memoryN/state for each type. */
static const char *const online_type_sysfs_table[_ONLINE_TYPE_MAX] = {
        [ONLINE_TYPE_OFFLINE] = "offline",
        [ONLINE_TYPE_ONLINE] = "online",
        [ONLINE_TYPE_KERNEL] = "online_kernel",
        [ONLINE_TYPE_MOVABLE] = "online_movable",
        /* none for auto-movable: the policy resolves it to movable or kernel before any write */
};

DEFINE_STRING_TABLE_TO_STRING(online_type, OnlineType);

const char *online_type_to_sysfs(OnlineType t)
{
        return (size_t)t < _ONLINE_TYPE_MAX ? online_type_sysfs_table[t] : NULL;
}

OnlineType online_type_from_string(const char *s)
{
        ssize_t i;

        assert(s);

        /* The kernel's spellings (online_movable, online_kernel) mean the same. */
        i = string_table_lookup(online_type_table, _ONLINE_TYPE_MAX, s);
        if (i < 0)
                i = string_table_lookup(online_type_sysfs_table, _ONLINE_TYPE_MAX, s);
        return (OnlineType)i;
}

static const struct {
        const char *name;
        Zone zone;
} zone_table[] = {
        { "DMA", ZONE_DMA },         { "DMA32", ZONE_DMA32 },   { "Normal", ZONE_NORMAL },
        { "Movable", ZONE_MOVABLE }, { "Device", ZONE_DEVICE },
};

const char *zone_to_string(Zone z)
{
        for (size_t i = 0; i < sizeof(zone_table) / sizeof(zone_table[0]); i++)
                if (zone_table[i].zone == z)
                        return zone_table[i].name;
        return NULL;
}

void zones_to_string(unsigned mask, Zone first, char *buf, size_t size)
{
        size_t n = 0;

        assert(buf);

        if (size == 0)
                return;
        buf[0] = '\0';
        if (mask == 0) {
                snprintf(buf, size, "none");
                return;
        }
        if (first & mask)
                n += snprintf(buf, size, "%s", zone_to_string(first));
        for (size_t i = 0; i < sizeof(zone_table) / sizeof(zone_table[0]); i++)
                if ((mask & zone_table[i].zone) && zone_table[i].zone != first)
                        n += snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? " " : "",
                                      zone_table[i].name);
}

int zones_from_string(const char *s, unsigned *ret_mask, Zone *ret_first)
{
        unsigned mask = 0;
        Zone first = 0;

        assert(s);
        assert(ret_mask);
        assert(ret_first);

        if (strcmp(s, "none") == 0) {
                *ret_mask = 0;
                *ret_first = 0;
                return 0;
        }

        while (*s) {
                size_t n = strcspn(s, " \t\n");
                Zone z = 0;

                for (size_t i = 0; n > 0 && i < sizeof(zone_table) / sizeof(zone_table[0]); i++)
                        if (strlen(zone_table[i].name) == n && strncmp(s, zone_table[i].name, n) == 0)
                                z = zone_table[i].zone;
                if (n > 0 && z == 0)
                        return -EINVAL;
                if (first == 0)
                        first = z;
                mask |= z;
                s += n;
                s += strspn(s, " \t\n");
        }
        if (mask == 0)
                return -EINVAL;

        *ret_mask = mask;
        *ret_first = first;
        return 0;
}

Zone zone_for_online_type(OnlineType t, unsigned mask, Zone first)
{
        switch (t) {
        case ONLINE_TYPE_MOVABLE:
                return mask & ZONE_MOVABLE ? ZONE_MOVABLE : 0;
        case ONLINE_TYPE_KERNEL:
                /* The kernel picks the default zone if it is a kernel zone, else the highest one. */
                if (first & ZONES_KERNEL)
                        return first;
                for (Zone z = ZONE_NORMAL; z >= ZONE_DMA; z >>= 1)
                        if (mask & z)
                                return z;
                return 0;
        case ONLINE_TYPE_ONLINE:
                return first;
        default:
                return 0;
        }
}

static const char *const block_state_table[_BLOCK_STATE_MAX] = {
        [BLOCK_OFFLINE] = "offline",
        [BLOCK_ONLINE] = "online",
        [BLOCK_GOING_OFFLINE] = "going-offline",
};

DEFINE_STRING_TABLE_LOOKUP(block_state, BlockState);

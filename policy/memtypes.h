/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>

/* What a policy asks of an offline block. The words are the config file's; the kernel's own
 * spellings (online_movable, online_kernel) are accepted too. */
typedef enum OnlineType {
        ONLINE_TYPE_OFFLINE, /* leave the block offline */
        ONLINE_TYPE_ONLINE,  /* the kernel's default zone (first entry of valid_zones) */
        ONLINE_TYPE_KERNEL,
        ONLINE_TYPE_MOVABLE,
        ONLINE_TYPE_AUTO_MOVABLE, /* movable while MovableRatio= holds, else kernel (policy/placement.h) */
        ONLINE_TYPE_PLATFORM,     /* the machine's default (policy/platform.h), resolved at load */
        _ONLINE_TYPE_MAX,
        _ONLINE_TYPE_INVALID = -EINVAL,
} OnlineType;

/* Zones as named in valid_zones, as a bit mask so a block's whole list fits in one value. */
typedef enum Zone {
        ZONE_DMA = 1 << 0,
        ZONE_DMA32 = 1 << 1,
        ZONE_NORMAL = 1 << 2,
        ZONE_MOVABLE = 1 << 3,
        ZONE_DEVICE = 1 << 4,
} Zone;

#define ZONES_KERNEL (ZONE_DMA | ZONE_DMA32 | ZONE_NORMAL)

typedef enum BlockState {
        BLOCK_OFFLINE,
        BLOCK_ONLINE,
        BLOCK_GOING_OFFLINE,
        _BLOCK_STATE_MAX,
        _BLOCK_STATE_INVALID = -EINVAL,
} BlockState;

const char *online_type_to_string(OnlineType t);
OnlineType online_type_from_string(const char *s);
/* The word written to memoryN/state for this type. */
const char *online_type_to_sysfs(OnlineType t);

const char *zone_to_string(Zone z);
/* Parses valid_zones ("Normal Movable", "Movable", "none"): the mask, and the first entry, which
 * the kernel uses for a plain "online". */
int zones_from_string(const char *s, unsigned *ret_mask, Zone *ret_first);
/* The other way: "Normal Movable" with first first, "none" for an empty mask. */
void zones_to_string(unsigned mask, Zone first, char *buf, size_t size);
/* The zone the kernel will choose for this type, given valid_zones; 0 if none fits. */
Zone zone_for_online_type(OnlineType t, unsigned mask, Zone first);

const char *block_state_to_string(BlockState s);
BlockState block_state_from_string(const char *s);

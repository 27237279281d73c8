/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "memtypes.h"

/* The kernel's whole-device hotplug state of a kmem-bound dax device (daxX.Y/state, Linux 7.3;
 * docs/KERNELS.md). The kernel records the last transition it made itself there and does not
 * follow block-by-block writes, so whether the file and the blocks agree is judged here. */
typedef enum DaxHotplug {
        DAX_HOTPLUG_NONE,      /* no state file: not bound to kmem, or a kernel without it */
        DAX_HOTPLUG_UNPLUGGED, /* no memory block of the device exists */
        DAX_HOTPLUG_OFFLINE,   /* read only: bound while auto_online_blocks was offline */
        DAX_HOTPLUG_ONLINE,    /* the kernel's online_policy chose the zone */
        DAX_HOTPLUG_ONLINE_KERNEL,
        DAX_HOTPLUG_ONLINE_MOVABLE,
        _DAX_HOTPLUG_MAX,
        _DAX_HOTPLUG_INVALID = -EINVAL,
} DaxHotplug;

/* "none" for DAX_HOTPLUG_NONE, else the kernel's word. */
const char *dax_hotplug_to_string(DaxHotplug h);
DaxHotplug dax_hotplug_from_string(const char *s);
/* Whether the kernel takes it as a write: unplugged and the three online words. */
bool dax_hotplug_writable(DaxHotplug h);
/* The state that onlines a whole device into the zone a block's online type reaches:
 * _DAX_HOTPLUG_INVALID for offline and for types the policy resolves block by block. */
DaxHotplug dax_hotplug_for_online_type(OnlineType t);

/* The device's blocks as found: how many exist, how many are online and in which zones. */
typedef struct DaxBlockTally {
        unsigned present, online, normal, movable;
} DaxBlockTally;

/* Whether the blocks are what the file says (for `online`, any zone). NONE agrees with anything:
 * there is no file to disagree with. */
bool dax_hotplug_agrees(DaxHotplug h, const DaxBlockTally *t);

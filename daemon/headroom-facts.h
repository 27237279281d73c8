/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "headroom.h"
#include "manager.h"

/* The headroom (policy/headroom.h) from what the kernel says now: /proc/zoneinfo, /proc/vmstat's
 * memmap counters, memory_hotplug.memmap_on_memory, and Online=auto-movable's counts for what may
 * go movable. Read when asked: free memory changes all the time, and nothing is kept. */

/* *ret: the system first (node -1), then every node with zones, in node order; -ENOENT when
 * /proc/zoneinfo is missing. */
int headroom_read(Manager *m, Headroom **ret, size_t *ret_n);

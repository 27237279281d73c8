/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

/* Read-only facts about the kernel's memory hotplug, for status. */

/* A memory_hotplug module parameter (memmap_on_memory, online_policy, auto_movable_ratio, …);
 * -ENOENT where this kernel lacks it. */
int kernel_read_hotplug_param(Sysfs *s, const char *name, char *buf, size_t size);

/* A counter of /proc/vmstat (nr_memmap_pages, nr_memmap_boot_pages); -ENOENT where this kernel
 * lacks it. path is normally "/proc/vmstat". */
int kernel_read_vmstat(const char *path, const char *name, uint64_t *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

/* Facts about the kernel's memory hotplug, for status, and its module parameters. */

/* A memory_hotplug module parameter (memmap_on_memory, online_policy, auto_movable_ratio, …);
 * -ENOENT where this kernel lacks it. */
int kernel_read_hotplug_param(Sysfs *s, const char *name, char *buf, size_t size);
/* online_policy, auto_movable_ratio and auto_movable_numa_aware may be written (KernelAutoOnline=delegate).
 */
int kernel_write_hotplug_param(Sysfs *s, const char *name, const char *value);

/* A counter of /proc/vmstat (nr_memmap_pages, nr_memmap_boot_pages); -ENOENT where this kernel
 * lacks it. path is normally "/proc/vmstat". */
int kernel_read_vmstat(const char *path, const char *name, uint64_t *ret);

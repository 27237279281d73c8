/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "parse-util.h"
#include "sysfs.h"

/* The kernel's memory tiers and demotion, as sysfs shows them (Linux 6.1+):
 * devices/virtual/memory_tiering/memory_tierN/nodelist and kernel/mm/numa/demotion_enabled. */

/* The kernel's MAX_NUMNODES at its largest (CONFIG_NODES_SHIFT=10). */
#define NODES_MAX ((int)NODE_INDEX_MAX + 1)

/* ret[node] = N of the memory_tierN that holds the node, -1 for a node in none (no memory, or a
 * kernel without tiers: then -ENOENT). */
int tiers_read(Sysfs *s, int ret[static NODES_MAX]);
/* 1 if the node has CPUs, 0 if it has none (a CXL or HBM node), negative errno. */
int tiers_node_has_cpus(Sysfs *s, int node);
/* -ENOENT on a kernel without demotion (before Linux 5.18). */
int demotion_read(Sysfs *s, bool *ret);
int demotion_write(Sysfs *s, bool on);

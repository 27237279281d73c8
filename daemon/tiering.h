/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "manager.h"
#include "tiers.h"

/* What slower memory (CXL) needs once it is online. The kernel puts a node of it, which has no
 * CPUs, in a lower memory tier than the boot DRAM; nothing allocates there until the faster
 * nodes are full, unless cold pages are demoted to it, and demotion is off by default
 * (Documentation/driver-api/cxl/allocation/reclaim.rst). Demotion= switches it while we run. */

/* Demotion= of the config: written at start and reload, the kernel's value kept to restore. */
void tiering_apply(Manager *m);
/* Gives demotion_enabled back as the kernel had it. */
void tiering_restore(Manager *m);
/* Logs, once per node, the warning of a node whose online memory only demotion would reach while
 * demotion is off. With node < 0, every node with online memory. */
void tiering_check(Manager *m, int node);
/* The warning for a node now, into buf; false if it has none. tiers from tiers_read(). */
bool tiering_node_warning(Manager *m, int node, const int *tiers, char *buf, size_t size);
/* "enabled", "disabled" or "unsupported". */
const char *tiering_demotion_state(Manager *m);

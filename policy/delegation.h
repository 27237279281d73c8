/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* KernelAutoOnline=delegate: the kernel's own knobs that make it online new memory in its hot-add
 * path as the policy would, when the policy can be said in them. The kernel has one global
 * setting for all new memory (auto_online_blocks, and with "online" its online_policy), so a
 * policy delegates only when every Online= that can apply to new memory is the same. */

typedef struct KernelKnobs {
        const char *auto_online_blocks; /* "online_movable", "online_kernel", "online", "offline" */
        const char *online_policy;      /* with "online": "contig-zones" or "auto-movable"; else NULL */
        unsigned auto_movable_ratio;    /* with auto-movable */
        bool auto_movable_numa_aware;
} KernelKnobs;

/* true and the knobs, or false and why (the rule that differs) in why. The config's Online=platform
 * must be resolved already (config_apply_platform()). */
bool delegation_knobs(const Config *c, KernelKnobs *ret, char *why, size_t size);

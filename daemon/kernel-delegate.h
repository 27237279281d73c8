/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "delegation.h"
#include "manager.h"

/* KernelAutoOnline=delegate's memory_hotplug module parameters (online_policy,
 * auto_movable_ratio, auto_movable_numa_aware): saved settings (saved-settings.h), as auto_online_blocks
 * is. */

/* Writes the ones k sets that differ. On failure nothing stays changed and *ret_why says why. */
int delegate_params_apply(Manager *m, const KernelKnobs *k, char **ret_why);
void delegate_params_restore(Manager *m);

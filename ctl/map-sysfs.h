/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "map.h"

/* The map from sysfs under root ("/sys"), for when memhotplugd does not run: every memory block,
 * dax device and DIMM. Leaves m sorted. */
int map_read_sysfs(const char *root, Map *m);

/* Only the DIMMs (ACPI memory devices, PNP0C80), which the daemon does not list: each is the
 * range of the blocks linked to it, on their node. m's blocks must be in and sorted. */
int map_read_dimms(const char *root, Map *m);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "sysfs.h"

/* Switching a device-dax instance between devdax and system-ram, through libdaxctl. libdaxctl
 * works on /sys itself (and loads kmem if needed): only on the real tree or under umockdev. */

/* Unbinds the current driver and binds kmem: the device's memory becomes (offline) blocks. */
int dax_convert_to_ram(const char *name);
/* Unbinds kmem (every block must be offline first) and binds device_dax again. */
int dax_convert_to_devdax(const char *name);
/* Unbinds kmem (every block offline), writes memmap_on_memory, binds kmem again: the memory comes
 * back as new blocks with the memmap where asked. */
int dax_rebind_ram(Sysfs *s, const char *name, bool memmap);

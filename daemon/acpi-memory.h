/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "sysfs.h"

/* ACPI memory devices (PNP0C80: one DIMM each): the kernel links each to the memory blocks it
 * added (physical_nodeN -> memoryM), and makes each a static memory group, all of whose memory
 * its auto-movable policy puts in one zone. */
typedef struct AcpiMemory {
        int *of_block; /* by block index: the device's index in names, or -1 */
        size_t n_blocks;
        char (*names)[24]; /* "PNP0C80:00" */
        size_t *n_members; /* blocks linked to each device */
        size_t n_devices;
} AcpiMemory;

/* Reads bus/acpi/devices/PNP0C80:*; an empty map where there is no ACPI. */
int acpi_memory_read(Sysfs *s, AcpiMemory *ret);
void acpi_memory_done(AcpiMemory *a);
/* Calls fn for each memory block linked to the ACPI device name ("PNP0C80:03"); stops at the
 * first negative return. -ENODEV for a name that cannot be a device. */
int acpi_memory_device_blocks(Sysfs *s, const char *name, int (*fn)(unsigned index, void *userdata),
                              void *userdata);

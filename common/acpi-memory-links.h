/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>

/* An ACPI memory device (PNP0C80: a DIMM) links each memory block it added from its directory
 * under /sys/bus/acpi/devices: physical_node, physical_node1, … -> …/memoryN. The daemon's
 * placement and memhotplugctl map both read them. */

/* Calls fn with the index of each memory block the device's directory d links to; stops at the
 * first negative return and returns it. Links to anything but a memory block are passed over. */
int acpi_memory_links(DIR *d, int (*fn)(unsigned index, void *userdata), void *userdata);

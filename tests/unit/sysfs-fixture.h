/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A temporary sysfs root with memory blocks, and the daemon's manager over it, for unit tests
 * that drive the daemon's own block handling (intake_on_uevent()) and event loop. The kernel's
 * side is played by plain files: nothing here ever touches the real /sys. */

#include <stdbool.h>
#include <stddef.h>

#include "manager.h"

/* Makes the root (with devices/system/node/node0 when numa), block_size_bytes 128M, and
 * auto_online_blocks "offline"; conf is the daemon's whole config file. Returns the root's path. */
const char *fixture_setup(bool numa, const char *conf);
void fixture_cleanup(void);
/* Writes value into the file at rel (relative to the root); aborts on failure. */
void fixture_write(const char *rel, const char *value);
/* An offline block that may go Normal or Movable, not linked to any node. */
void fixture_make_block(unsigned index);
/* Links the block to node0, as the kernel does once the whole add exists. */
void fixture_link_node(unsigned index);
/* An ACPI memory device (a DIMM slot), bus/acpi/devices/name ("PNP0C80:00"), nothing bound. */
void fixture_acpi_device(const char *name);
/* Binds the block to the device, as the kernel does once it added the DIMM: physical_nodeN in the
 * device, firmware_node in the block. */
void fixture_acpi_bind(const char *name, unsigned n, unsigned index);
/* The file at rel (relative to the root), whole; NULL when unreadable. */
const char *fixture_read(const char *rel, char *buf, size_t size);
/* The block's state file, first line ("" when unreadable). */
const char *fixture_block_state(unsigned index, char *buf, size_t size);
/* The manager over the root, config loaded, onliner and blocks set up, no bus. */
int fixture_new_manager(Manager **ret);

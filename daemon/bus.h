/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

#define BUS_NAME          "org.memhotplug1"
#define BUS_PATH          "/org/memhotplug1"
#define BUS_BLOCK_PREFIX  "/org/memhotplug1/block"
#define BUS_IFACE_MANAGER "org.memhotplug1.Manager"
#define BUS_IFACE_BLOCK   "org.memhotplug1.Block"
#define BUS_DEVICE_PREFIX "/org/memhotplug1/device"
#define BUS_IFACE_DEVICE  "org.memhotplug1.Device"

#define BUS_ERROR_NO_SUCH_BLOCK       "org.memhotplug1.Error.NoSuchBlock"
#define BUS_ERROR_INVALID_ONLINE_TYPE "org.memhotplug1.Error.InvalidOnlineType"
#define BUS_ERROR_TOO_MANY_BLOCKS     "org.memhotplug1.Error.TooManyBlocks"
#define BUS_ERROR_CONFIG_INVALID      "org.memhotplug1.Error.ConfigInvalid"
#define BUS_ERROR_NOT_PERMITTED       "org.memhotplug1.Error.NotPermitted"
#define BUS_ERROR_NO_SUCH_DEVICE      "org.memhotplug1.Error.NoSuchDevice"
#define BUS_ERROR_DEVICE_BUSY         "org.memhotplug1.Error.DeviceBusy"
#define BUS_ERROR_NOT_SUPPORTED       "org.memhotplug1.Error.NotSupported"

/* Connects to the system bus (waiting for it to appear, so that onlining at boot never waits for
 * D-Bus), exports the objects and requests the name. */
int bus_setup(Manager *m);
void bus_free(Manager *m);
/* Registers the vtables on bus; for --bus-introspect too. */
int bus_add_objects(Manager *m, sd_bus *bus);

/* Hooks for the manager. */
void bus_emit_block_state(Manager *m, unsigned index);
void bus_emit_job_finished(Manager *m, const Job *job);
void bus_block_done(Manager *m, unsigned index, int error);
int bus_flush_dirty(Manager *m);

/* Prints the introspection XML of every interface (--bus-introspect). */
int bus_introspect(FILE *f);

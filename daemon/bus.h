/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-contract.h"
#include "manager.h"

/* Connects to the system bus (waiting for it to appear, so that onlining at boot never waits for
 * D-Bus), exports the objects and requests the name. */
int bus_setup(Manager *m);
void bus_free(Manager *m);
/* Registers the vtables on bus; for --bus-introspect too. */
int bus_add_objects(Manager *m, sd_bus *bus);

/* Hooks for the manager. */
void bus_emit_block_state(Manager *m, unsigned index);
void bus_emit_job_finished(Manager *m, const Job *job);
/* InterfacesRemoved for the block's object, which is gone with the block. */
void bus_emit_block_removed(Manager *m, unsigned index);
void bus_block_done(Manager *m, unsigned index, int error);
/* Answers every call still waiting for its blocks with ShuttingDown: at exit, while the connection
 * is still up (sd-bus closes it in its own exit source). */
void bus_abort_requests(Manager *m);
/* OfflineProgress: one block's offline is over (result 0 or a negative errno, and why). */
void bus_emit_offline_progress(Manager *m, unsigned index, int result, const char *reason);
int bus_flush_dirty(Manager *m);

/* Prints the introspection XML of every interface (--bus-introspect). */
int bus_introspect(FILE *f);

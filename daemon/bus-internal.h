/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-contract.h"
#include "manager.h"
#include "outcome.h"

/* Shared by the bus-*.c files only. */

typedef struct Request Request;
typedef struct BusObjects BusObjects;
typedef struct BusBudget BusBudget;

/* A block's state and zone as they became, for the next BlockStatesChanged (bus-signal.c). */
typedef struct BusStateRow {
        uint32_t index;
        uint8_t state; /* BlockState */
        uint8_t zone;  /* Zone; 0 when offline */
} BusStateRow;

/* The bus layer's state, made by bus_setup() and freed by bus_free(). The vtables' userdata is the
 * Manager (what they answer is the core's); this is Manager.bus. */
struct Bus {
        Manager *manager;
        sd_bus *conn;
        sd_event_source *emit_source; /* what changed goes out once per loop iteration */
        Request *requests;            /* OnlineBlocks/OfflineBlocks calls waiting for their blocks */
        BusObjects *objects;          /* GetManagedObjects calls being answered */
        BusBudget *budget;            /* what each client has not read yet (bus-budget.c) */
        BusStateRow *states;          /* block states changed since the last BlockStatesChanged */
        size_t n_states, n_states_allocated;
};

/* Registers the vtables on bus; for --bus-introspect too. */
int bus_add_objects(Manager *m, sd_bus *bus);

/* What the bus does with the core's outcomes (outcome.h), which it subscribes to at bus_setup(). */
/* A block's new state, for the BlockStatesChanged that bus_flush() or bus_flush_block_states()
 * sends. */
void bus_queue_block_state(Bus *b, unsigned index);
/* Sends the block states queued so far. Every other signal about blocks or the job, and every reply
 * to a call that waited for blocks, is sent after it: clients see a block's new state first. */
void bus_flush_block_states(Bus *b);
void bus_emit_job_finished(Bus *b, const Job *job);
/* CapacityChanged: the online memory after a hot-add or an unplug (outcome_capacity_check()). */
void bus_emit_capacity_changed(Bus *b, const Capacity *c);
/* InterfacesRemoved for the block's object, which is gone with the block. */
void bus_emit_block_removed(Bus *b, unsigned index);
/* PropertiesChanged of a Device: its HotplugState and HotplugConsistent. */
void bus_emit_device_changed(Bus *b, const char *name);
void bus_block_done(Bus *b, unsigned index, int error);
/* OfflineProgress: one block's offline is over (result 0 or a negative errno, and why). */
void bus_emit_offline_progress(Bus *b, unsigned index, int result, const char *reason);
/* Once per loop iteration: the block states, then PropertiesChanged of what changed. */
int bus_flush(Bus *b);

/* A call to OnlineBlocks, OfflineBlocks or RevertDevice, answered when all of its blocks are done.
 * A result is RESULT_PENDING, 0, RESULT_ALREADY or a negative errno (-EDOM: valid_zones does not
 * offer the zone asked for). */
#define RESULT_PENDING 1
#define RESULT_ALREADY 2

struct Request {
        Manager *manager;
        sd_bus_message *message;
        bool offline;         /* results are offline outcomes: say why a block stays online */
        bool stop_on_failure; /* the first block that fails cancels the ones not started */
        bool stopping;
        bool last_in_flight; /* CancelJob: the last block was being written when the cancel came */
        unsigned *indices;
        int *results; /* RESULT_PENDING, 0, RESULT_ALREADY or a negative errno */
        size_t n, pending;
        /* Called instead of the plain reply when all blocks are done (RevertDevice). */
        int (*on_done)(Manager *m, Request *q);
        char *device;
        /* PrepareUnplug of a device with daxX.Y/state: one `unplugged` write, all or nothing; a
         * block's row then says so. */
        bool whole_device;
        Request *next;
};

/* Replies to call with an array of rows that append() adds to the open container. */
typedef int (*bus_append_rows_fn)(sd_bus_message *reply, void *userdata);
int bus_reply_rows(sd_bus_message *call, const char *row_signature, bus_append_rows_fn append,
                   void *userdata);

/* Replies with the per-block results, a(ubs). */
int request_reply(Request *q);
/* "memoryN: why; memoryM: why" for the blocks that failed, highest first (NULL if none). */
int request_failures(Request *q, char **ret, size_t *ret_n);

int request_new(Manager *m, sd_bus_message *message, const unsigned *indices, size_t n, Request **ret);
int request_settle(Manager *m, Request *q, unsigned index, int result);
/* Records what the core's onliner_request_*() said for a block (REQUEST_QUEUED: wait). */
void request_add_outcome(Manager *m, Request *q, unsigned index, int outcome);
/* Asks the core to offline every block of the request (OfflineBlocks, RevertDevice). */
int request_offline_blocks(Manager *m, Request *q);
void request_answer_if_done(Manager *m, Request *q);
/* Answers every waiting call with ShuttingDown: the daemon is stopping. */
void request_abort_all(Bus *b);

/* The Manager properties that each DIRTY_* flag announces; the last entry has flag 0. */
typedef struct BusPropertyGroup {
        unsigned flag;
        const char *properties[8];
} BusPropertyGroup;
extern const BusPropertyGroup bus_manager_property_groups[];

/* Demotion, DemotionMode, NodeTiers and TieringWarnings (bus-tiering.c). */
int bus_property_get_tiering(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* NodePlacement, HotAddHeadroom, PlatformDefault, DriftBlocks and Plan's drift rows (bus-placement.c). */
int bus_property_get_hotadd_headroom(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error);
int bus_property_get_node_placement(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error);
typedef struct PlacementView PlacementView;
int bus_append_drift_row(Manager *m, PlacementView *v, sd_bus_message *reply, unsigned index);
int bus_property_get_drift_blocks(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error);
int bus_property_get_platform_default(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error);

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_block_vtable[];
extern const sd_bus_vtable bus_device_vtable[];
extern const sd_bus_vtable bus_log_control_vtable[];
int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error);
int bus_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
int bus_method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_revert_device(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_prepare_unplug(sd_bus_message *message, void *userdata, sd_bus_error *error);
/* Refuses the call with NotPermitted unless the sender is root (the bus policy already keeps
 * others out; this is the second lock on the same door). */
/* The caller's effective uid (its uid where the bus gives no euid). */
int bus_sender_uid(sd_bus_message *message, uid_t *ret);
int bus_check_root(sd_bus_message *message, const char *what, sd_bus_error *error);
/* GetManagedObjects on BUS_PATH, from the tables (an object callback: 0 for other calls), built a
 * slice per event loop iteration by the BusObjects queue. */
int bus_get_managed_objects(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_objects_new(Manager *m, BusObjects **ret);
BusObjects *bus_objects_free(BusObjects *o);
static inline void bus_objects_freep(BusObjects **o)
{
        bus_objects_free(*o);
}
int bus_block_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int bus_block_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* Back-pressure: each call is charged to its sender until the sender has read the reply
 * (bus-budget.c). A reply built later (GetManagedObjects) is deferred meanwhile. */
int bus_budget_new(Manager *m, sd_bus *bus, BusBudget **ret);
BusBudget *bus_budget_free(BusBudget *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusBudget *, bus_budget_free);
void bus_budget_defer(BusBudget *b, sd_bus_message *call);
void bus_budget_undefer(BusBudget *b, sd_bus_message *call);

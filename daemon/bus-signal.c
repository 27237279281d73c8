/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-internal.h"
#include "bus.h"
#include "outcome.h"

/* Signals: the block states that changed in one BlockStatesChanged, then PropertiesChanged from the
 * groups of properties that changed, both from the emit source, which runs once the loop has no
 * other work ready (a chunk of blocks is written in one iteration: at most one signal per chunk,
 * not one per block, each a message that dbus-daemon copies to every subscriber). JobFinished,
 * OfflineProgress and InterfacesRemoved go out as things happen, each after the block states
 * queued before it. */

/* Rows of one BlockStatesChanged at most (a row is about 30 bytes on the wire): more go out in
 * several signals, so that no message grows with the number of blocks, and the queue stays small
 * (8 bytes a row). 64 chunks of the default ChunkBlocks=64. */
#define STATES_PER_SIGNAL 4096u

/* Until the bus is up (early boot), signals would only pile up in sd-bus's write queue: one per
 * block. Nobody could have subscribed to them yet anyway. */
static bool bus_ready(Bus *b)
{
        return sd_bus_is_ready(b->conn) > 0;
}

static int send_block_states(Bus *b)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        int r;

        r = sd_bus_message_new_signal(b->conn, &signal, BUS_PATH, BUS_IFACE_MANAGER, "BlockStatesChanged");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(signal, 'a', BUS_ROW_BLOCK_STATE);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->n_states; i++) {
                const BusStateRow *row = &b->states[i];

                r = sd_bus_message_append(signal, BUS_ROW_BLOCK_STATE, row->index,
                                          block_state_to_string(row->state),
                                          row->zone ? zone_to_string(row->zone) : "");
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(signal);
        if (r < 0)
                return r;
        return sd_bus_send(b->conn, signal, NULL);
}

void bus_flush_block_states(Bus *b)
{
        assert(b);

        if (b->n_states == 0)
                return;
        /* A signal that cannot be sent is lost, as a single one was before: the rows go either way. */
        if (bus_ready(b))
                (void)send_block_states(b);
        b->n_states = 0;
}

void bus_queue_block_state(Bus *b, unsigned index)
{
        const Block *block;

        assert(b);

        block = &b->manager->blocks[index];

        if (!bus_ready(b))
                return;
        if (b->n_states == STATES_PER_SIGNAL)
                bus_flush_block_states(b);
        if (b->n_states == b->n_states_allocated) {
                /* 64, 128 ... STATES_PER_SIGNAL. */
                size_t n = b->n_states_allocated ? b->n_states_allocated * 2 : 64;
                BusStateRow *rows = realloc(b->states, n * sizeof(BusStateRow));

                if (rows) {
                        b->states = rows;
                        b->n_states_allocated = n;
                } else {
                        /* Out of memory: what is queued goes now, and this row takes its place. */
                        bus_flush_block_states(b);
                        if (b->n_states_allocated == 0)
                                return;
                }
        }
        b->states[b->n_states++] = (BusStateRow){
                .index = index,
                .state = block->state,
                .zone = block->zone,
        };
        (void)sd_event_source_set_enabled(b->emit_source, SD_EVENT_ONESHOT);
}

/* A signal about a block or the job goes out after the block states queued before it, and not
 * before the bus is up: whether it may be sent now. */
static bool flush_before_signal(Bus *b)
{
        bus_flush_block_states(b);
        return bus_ready(b);
}

void bus_emit_job_finished(Bus *b, const Job *job)
{
        assert(b);
        assert(job);

        if (!flush_before_signal(b))
                return;
        (void)sd_bus_emit_signal(b->conn, BUS_PATH, BUS_IFACE_MANAGER, "JobFinished", "uuu", job->total,
                                 job->done, job->failed);
}

static int send_capacity_changed(Bus *b, const Capacity *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        int r;

        r = sd_bus_message_new_signal(b->conn, &signal, BUS_PATH, BUS_IFACE_MANAGER, "CapacityChanged");
        if (r < 0)
                return r;
        r = sd_bus_message_append(signal, "tt", c->sequence, c->online);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(signal, 'a', BUS_ROW_NODE_BYTES);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_nodes; i++) {
                if (c->node_online[i] == 0)
                        continue;
                r = sd_bus_message_append(signal, BUS_ROW_NODE_BYTES, (uint32_t)i, c->node_online[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(signal);
        if (r < 0)
                return r;
        return sd_bus_send(b->conn, signal, NULL);
}

void bus_emit_capacity_changed(Bus *b, const Capacity *c)
{
        assert(b);
        assert(c);

        if (flush_before_signal(b))
                (void)send_capacity_changed(b, c);
}

static const char *offline_outcome(int result)
{
        switch (result) {
        case 0:
                return "offlined";
        case -ETIMEDOUT:
                return "timed-out";
        case -ECANCELED:
        case -ESHUTDOWN: /* interrupted by the daemon's exit */
                return "cancelled";
        case -ENODEV:
                return "removed";
        case -EBUSY:
        case -EINVAL:
                return "refused";
        default:
                return "failed";
        }
}

void bus_emit_offline_progress(Bus *b, unsigned index, int result, const char *reason)
{
        assert(b);
        assert(reason);

        if (!flush_before_signal(b))
                return;
        (void)sd_bus_emit_signal(b->conn, BUS_PATH, BUS_IFACE_MANAGER, "OfflineProgress", "uss", index,
                                 offline_outcome(result), reason);
}

void bus_emit_block_removed(Bus *b, unsigned index)
{
        char path[sizeof(BUS_BLOCK_PREFIX) + 16];

        assert(b);

        if (!flush_before_signal(b))
                return;
        snprintf(path, sizeof(path), BUS_BLOCK_PREFIX "/%u", index);
        (void)sd_bus_emit_interfaces_removed(b->conn, path, BUS_IFACE_BLOCK, NULL);
}

void bus_emit_device_changed(Bus *b, const char *name)
{
        _cleanup_(freep) char *path = NULL;

        assert(b);
        assert(name);

        if (!flush_before_signal(b))
                return;
        if (sd_bus_path_encode(BUS_DEVICE_PREFIX, name, &path) < 0)
                return;
        (void)sd_bus_emit_properties_changed(b->conn, path, BUS_IFACE_DEVICE, "HotplugState",
                                             "HotplugConsistent", NULL);
}

/* Which Manager properties each kind of change touches. Every property with EMITS_CHANGE belongs
 * to a group here (test-bus-properties checks it against the vtable). */
const BusPropertyGroup bus_manager_property_groups[] = {
        { DIRTY_TOTALS, { "PresentBytes", "OnlineBytes", "OfflineBytes", "ZoneOnlineBytes", "NodeBytes" } },
        { DIRTY_JOB, { "JobProgress", "BlocksOnlined", "BlocksFailed" } },
        { DIRTY_CONFIG,
          { "ConfigFiles", "LastConfigError", "OnlinePolicy", "ChunkBlocks", "DemotionMode" } },
        { DIRTY_KERNEL, { "KernelAutoOnline", "KernelAutoOnlineMode", "KernelAutoOnlineFallback" } },
        { DIRTY_DEVICES, { "Devices" } },
        {},
};

int bus_flush(Bus *b)
{
        unsigned dirty;

        assert(b);

        bus_flush_block_states(b);
        /* Until the bus is up, the flags stay set for the first flush after it. */
        if (!bus_ready(b) || outcome_dirty(b->manager) == 0)
                return 0;
        dirty = outcome_take_dirty(b->manager);
        for (const BusPropertyGroup *g = bus_manager_property_groups; g->flag; g++) {
                if (!(dirty & g->flag))
                        continue;
                (void)sd_bus_emit_properties_changed_strv(b->conn, BUS_PATH, BUS_IFACE_MANAGER,
                                                          (char **)g->properties);
        }
        return 0;
}

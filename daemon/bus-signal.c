/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "bus-internal.h"
#include "bus.h"
#include "outcome.h"

/* Signals: BlockStateChanged and JobFinished as things happen, PropertiesChanged batched once per
 * loop iteration from the groups of properties that changed. */

/* Until the bus is up (early boot), signals would only pile up in sd-bus's write queue: one per
 * block. Nobody could have subscribed to them yet anyway. */
static bool bus_ready(Bus *b)
{
        return sd_bus_is_ready(b->conn) > 0;
}

void bus_emit_block_state(Bus *b, unsigned index)
{
        const Block *block = &b->manager->blocks[index];

        if (!bus_ready(b))
                return;
        (void)sd_bus_emit_signal(b->conn, BUS_PATH, BUS_IFACE_MANAGER, "BlockStateChanged", "uss", index,
                                 block_state_to_string(block->state),
                                 block->zone ? zone_to_string(block->zone) : "");
}

void bus_emit_job_finished(Bus *b, const Job *job)
{
        if (!bus_ready(b))
                return;
        (void)sd_bus_emit_signal(b->conn, BUS_PATH, BUS_IFACE_MANAGER, "JobFinished", "uuu", job->total,
                                 job->done, job->failed);
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
        if (!bus_ready(b))
                return;
        (void)sd_bus_emit_signal(b->conn, BUS_PATH, BUS_IFACE_MANAGER, "OfflineProgress", "uss", index,
                                 offline_outcome(result), reason);
}

void bus_emit_block_removed(Bus *b, unsigned index)
{
        char path[sizeof(BUS_BLOCK_PREFIX) + 16];

        if (!bus_ready(b))
                return;
        snprintf(path, sizeof(path), BUS_BLOCK_PREFIX "/%u", index);
        (void)sd_bus_emit_interfaces_removed(b->conn, path, BUS_IFACE_BLOCK, NULL);
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

int bus_flush_dirty(Bus *b)
{
        unsigned dirty;

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

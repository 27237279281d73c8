/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "acpi-memory.h"
#include "manager.h"
#include "placement.h"
#include "policy.h"

/* The facts Online=auto-movable decides on, gathered from the block table and sysfs: what is online
 * (or already decided) in which zone on each node, which of it is boot memory, and each block's
 * memory group. See memhotplugd.conf(5), PLACEMENT and MEMORY GROUPS. */

typedef struct PlacementView PlacementView;

/* What the reads cost, for the tests: reads must stay linear in the blocks (bus reads are open to
 * every user, and one that walked the table per block stalled the loop for seconds). */
typedef struct PlacementStats {
        uint64_t views;          /* times the counts were made from the block table */
        uint64_t blocks_counted; /* blocks looked at to make them, or to count a group apart */
        uint64_t drift_checks;   /* blocks whose drift was worked out */
} PlacementStats;

typedef struct Placement {
        AcpiMemory acpi;
        uint64_t acpi_gen;          /* counts the ACPI map's reads */
        uint64_t acpi_read_seq;     /* intake_new_blocks_seq() at the last ACPI read; UINT64_MAX: none */
        uint64_t virtio_read_seq;   /* … and at the last /proc/iomem read for a block not in the map */
        bool acpi_known;            /* the ACPI map was read at least once */
        uint64_t pending_read_usec; /* loop iteration of placement_acpi_pending()'s last look at the maps */
        uint32_t burst;             /* the hot-add burst whose run of blocks was last found … */
        int burst_node;
        unsigned burst_first, burst_last; /* … and the run */
        int memmap_global;                /* memory_hotplug.memmap_on_memory: -1 not read yet */
        PlacementView *view;              /* the counts, kept until what they were made from changes */
        PlacementStats stats;
} Placement;

Placement *placement_free(Placement *p);

/* The zones of every node, and every virtio-mem device's group (their movable memory takes its
 * share of the boot memory first), for status: copied from the counts. */
int placement_zones_read(Manager *m, PlacementZones **ret, size_t *ret_n, PlacementGroup **ret_groups,
                         size_t *ret_n_groups);

/* Whether a new block, linked to its node, may still wait for its ACPI memory device to claim it:
 * its policy is Online=auto-movable (the only one that needs groups), ACPI memory devices exist,
 * and no device has it yet, nor a firmware_node link. The kernel binds
 * a DIMM's blocks to the device right after it added them all, after their node links; decided
 * before, a DIMM's blocks would not be one group. */
bool placement_acpi_pending(Manager *m, unsigned index, int node);

/* policy_decide() (type _ONLINE_TYPE_INVALID: the config's [Memory] or [Node N]) or
 * policy_decide_as() (a dax rule's type and name), with the facts auto-movable needs gathered
 * only when the type asks for them. Returns a negative errno if they cannot be read; the decision
 * then leaves the block offline. */
int placement_decide_block(Manager *m, unsigned index, const BlockFacts *f, OnlineType type,
                           const char *rule, Decision *ret);

/* Drift: whether an online block that is not boot memory sits in a zone the policy would not
 * choose now (for its whole group, as if all of it were offline); ret says where it would go and
 * why. Online=online, the kernel's own choice, never drifts. */
bool placement_block_drift(Manager *m, unsigned index, Decision *ret);

/* Reads over many blocks (DriftBlocks, Plan, NodePlacement). The counts every decision starts
 * from (zones per node, each group's blocks, each block's group) are made in one pass over the
 * block table and kept, with each block's drift, until the table, the devices, the ACPI and
 * virtio-mem maps or the config change: a read compares, it does not count again. A read gets the
 * view once (the one compare of the table) and asks it about each block; it stays valid while
 * the read runs (the table does not change under a bus call). */
int placement_view(Manager *m, PlacementView **ret);
/* placement_decide_block() on the view: Plan's dry run of an offline block. */
int placement_view_decide(Manager *m, PlacementView *v, unsigned index, const BlockFacts *f, Decision *ret);
/* placement_block_drift() on the view: the kept verdict, and the decision of a block that drifts. */
bool placement_view_drift(Manager *m, PlacementView *v, unsigned index, Decision *ret);
/* How many blocks drift (DriftBlocks). */
int placement_drift_count(Manager *m, unsigned *ret);
void placement_stats(const Manager *m, PlacementStats *ret);

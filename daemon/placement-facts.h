/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "acpi-memory.h"
#include "manager.h"
#include "placement.h"
#include "policy.h"

/* The facts Online=auto-movable decides on, gathered from the block table and sysfs: what is online
 * (or already decided) in which zone on each node, which of it is boot memory, and each block's
 * memory group. See memhotplugd.conf(5), PLACEMENT and MEMORY GROUPS. */

typedef struct Placement {
        AcpiMemory acpi;
        uint64_t acpi_read_seq;     /* Manager.new_blocks_seq at the last ACPI read; UINT64_MAX: none */
        uint64_t virtio_read_seq;   /* … and at the last /proc/iomem read for a block not in the map */
        bool acpi_known;            /* the ACPI map was read at least once */
        uint64_t pending_read_usec; /* loop iteration of placement_acpi_pending()'s last look at the maps */
        uint32_t burst;             /* the hot-add burst whose run of blocks was last found … */
        int burst_node;
        unsigned burst_first, burst_last; /* … and the run */
        int memmap_global;                /* memory_hotplug.memmap_on_memory: -1 not read yet */
} Placement;

Placement *placement_free(Placement *p);

/* What the policy needs for one block, the block itself left out of the counts (so a queued
 * block is decided again as it was). Free with block_placement_done(). */
typedef struct BlockPlacement {
        PlacementZones *nodes;
        size_t n_nodes;
        PlacementGroup group;    /* the block's static group */
        PlacementGroup *dynamic; /* every virtio-mem device's group, by its index in the map */
        size_t n_dynamic;
        PlacementFacts facts;
        PlacementInput input;
} BlockPlacement;

int block_placement_build(Manager *m, unsigned index, int node, BlockPlacement *ret);
void block_placement_done(BlockPlacement *p);

/* The zones of every node, and every virtio-mem device's group (their movable memory takes its
 * share of the boot memory first), for status. */
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

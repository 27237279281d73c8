/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Online=auto-movable: which zone a block of hot-added memory goes to so that ZONE_MOVABLE never
 * outgrows the kernel memory that has to carry it. The arithmetic is the kernel's own
 * online_policy=auto-movable (mm/memory_hotplug.c, auto_movable_zone_for_pfn()), applied to facts
 * the daemon read from sysfs, so that it can be explained, varied per node and per device, and
 * shown before it happens. Pure: facts in, decision out. All amounts are in pages. */

#define MOVABLE_RATIO_DEFAULT 301 /* percent: the kernel's auto_movable_ratio */
#define MOVABLE_RATIO_MAX     100000

/* What is online on one node, or in the whole system. */
typedef struct PlacementZones {
        /* Boot memory online in the kernel zones (the kernel's present_early_pages): the base the
         * ratio is taken of. Hot-added kernel memory is not counted, as the kernel does not: it may
         * be unplugged again at any time. */
        uint64_t kernel_early;
        uint64_t kernel;  /* everything online in the kernel zones, boot or hot-added: shown only */
        uint64_t movable; /* everything online in ZONE_MOVABLE */
        /* Of movable: the memmap of memory that carries its own (memmap_on_memory). These pages
         * are struct pages, not memory that needs any: they are left out of the ratio. */
        uint64_t movable_memmap;
} PlacementZones;

/* A memory group: memory that was added together and is onlined into one zone. A static group
 * (an ACPI memory device, a dax device, a hot-add burst) goes whole to one zone; a dynamic one
 * (virtio-mem) is decided one unit at a time, and its own kernel memory allows it more movable
 * memory (the kernel's memory groups, drivers/base/memory.c). */
typedef struct PlacementGroup {
        char name[40];
        int node;
        bool dynamic;
        uint64_t max_pages;    /* static: the whole group; dynamic: one unit */
        uint64_t memmap_pages; /* of max_pages: the memmap, when it sits on the device */
        /* Online or already decided, by zone. */
        uint64_t present_kernel, present_movable;
        uint64_t memmap_movable; /* of present_movable: its memmap on the device */
        /* Static, with memory in a kernel zone: why its blocks were queued there in the current
         * job (the arithmetic), which the rest follows; NULL when none was kept. */
        const struct PlacementResult *decided;
} PlacementGroup;

typedef struct PlacementFacts {
        const PlacementZones *nodes; /* by node number */
        size_t n_nodes;
        const PlacementGroup *groups; /* every group, for the dynamic ones' share */
        size_t n_groups;
        uint64_t page_size;
} PlacementFacts;

typedef struct PlacementParams {
        unsigned ratio;      /* system-wide, percent */
        unsigned node_ratio; /* for the check on the block's node, percent */
        bool numa_aware;
} PlacementParams;

typedef struct PlacementRequest {
        int node;
        const PlacementGroup *group; /* NULL: a block of no group, decided alone */
        uint64_t nr_pages;           /* the block */
        uint64_t memmap_pages;       /* of nr_pages: its memmap, when on the device */
        /* A dynamic group whose unit is larger than a block: what of the unit is online. */
        uint64_t unit_online_pages;
        bool unit_has_kernel;
} PlacementRequest;

/* What decided, kept as facts: the text is made of them only where it leaves the process. */
typedef enum PlacementBasis {
        PLACEMENT_CHECKED,         /* the ratio, system-wide and perhaps on the node: checks[] */
        PLACEMENT_RATIO_ZERO,      /* MovableRatio=0 */
        PLACEMENT_GROUP_IN_KERNEL, /* a static group with memory in a kernel zone, no arithmetic kept */
        PLACEMENT_UNIT_IN_KERNEL,  /* a dynamic group's unit with memory in a kernel zone */
} PlacementBasis;

/* One ratio check, on a node or system-wide, with what it counted. */
typedef struct PlacementCheck {
        int node; /* -1: system-wide */
        unsigned ratio;
        uint64_t movable;  /* after adding the pages asked about */
        uint64_t kernel;   /* boot kernel memory left to back them */
        uint64_t reserved; /* boot kernel memory other virtio-mem devices' movable memory needs */
        bool ok;
} PlacementCheck;

#define PLACEMENT_REASON_MAX 256

typedef struct PlacementResult {
        bool movable;
        PlacementBasis basis;
        /* The subject: the group ("" for a block of no group), and what of it, of its unit or of
         * the block is still offline, with the memmap of that on the device. */
        char group[40];
        bool grouped, dynamic;
        uint64_t pages, memmap;
        uint64_t page_size;
        PlacementCheck checks[2];
        unsigned n_checks;
} PlacementResult;

void placement_decide(const PlacementFacts *f, const PlacementParams *p, const PlacementRequest *q,
                      PlacementResult *ret);

/* The arithmetic as the journal and Plan show it ("group dimm1 (2G): system: movable 2G / kernel
 * 4G = 50% <= 301% -> Movable"), cut at PLACEMENT_REASON_MAX. */
void placement_result_format(const PlacementResult *r, char *buf, size_t size);
/* Whether a and b decide alike on the same counts and group: only the group's size still offline
 * may differ, as it does between the blocks of one group queued one after another. */
bool placement_result_same_group(const PlacementResult *a, const PlacementResult *b);
/* Whether a and b are the same in every fact. */
bool placement_result_equal(const PlacementResult *a, const PlacementResult *b);

/* What the kernel's rule (auto_movable_can_online_movable()) compares on node (-1: system-wide)
 * for memory of no dynamic group: ret->movable, without every virtio-mem device's movable memory,
 * against ret->kernel, the boot kernel memory left after each device took what its own kernel
 * memory does not cover of its movable memory (ret->reserved). This, not movable over boot kernel
 * memory, is the ratio the headroom below is the rest of. */
void placement_counted(const PlacementFacts *f, int node, unsigned ratio, PlacementCheck *ret);

/* How many more pages may go to ZONE_MOVABLE on node (-1: system-wide) before the ratio is
 * reached, as the decision would count them (dynamic groups' shares taken off). */
uint64_t placement_headroom(const PlacementFacts *f, const PlacementParams *p, int node);

/* The totals of every node. */
void placement_zones_sum(const PlacementFacts *f, PlacementZones *ret);

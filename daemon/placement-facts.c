/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocks.h"
#include "dax.h"
#include "devices.h"
#include "memblock.h"
#include "placement-facts.h"
#include "time-util.h"

/* sizeof(struct page) on 64-bit kernels: a block's memmap is block pages x 64 bytes. */
#define STRUCT_PAGE_SIZE 64

Placement *placement_free(Placement *p)
{
        if (!p)
                return NULL;
        acpi_memory_done(&p->acpi);
        free(p);
        return NULL;
}

static Placement *placement_get(Manager *m)
{
        if (!m->placement) {
                m->placement = calloc(1, sizeof(Placement));
                if (m->placement) {
                        m->placement->memmap_global = -1;
                        m->placement->acpi_read_seq = m->placement->virtio_read_seq = UINT64_MAX;
                }
        }
        return m->placement;
}

static uint64_t page_size(void)
{
        long n = sysconf(_SC_PAGESIZE);

        return n > 0 ? (uint64_t)n : 4096;
}

/* The ACPI map, read again when a block is not in it and blocks may have come since the last read
 * (Manager.new_blocks_seq: an "add" uevent, a scan): the kernel links a DIMM's blocks only after it
 * added them all. Not once per loop iteration: more uevents can be read in one, of blocks added
 * after the read. */
static int acpi_device_of(Manager *m, Placement *p, unsigned index)
{
        AcpiMemory fresh;
        int r;

        if (index < p->acpi.n_blocks && p->acpi.of_block[index] >= 0)
                return p->acpi.of_block[index];
        if (p->acpi_read_seq == m->new_blocks_seq)
                return -1;
        r = acpi_memory_read(m->sysfs, &fresh);
        if (r < 0)
                return r;
        acpi_memory_done(&p->acpi);
        p->acpi = fresh;
        p->acpi_read_seq = m->new_blocks_seq;
        p->acpi_known = true;
        return index < p->acpi.n_blocks ? p->acpi.of_block[index] : -1;
}

/* The virtio-mem map, read again under the same rule as the ACPI map: the kernel adds a device's
 * System RAM resource before it creates the blocks, so a block missing from the map is new. */
static int virtio_device_of(Manager *m, Placement *p, unsigned index)
{
        VirtioMemMap *v = &m->virtio_mem;
        int r;

        r = virtio_mem_device_of(v, index);
        if (r >= 0 || v->fd < 0 || v->hidden)
                return r;
        if (p->virtio_read_seq == m->new_blocks_seq)
                return -1;
        p->virtio_read_seq = m->new_blocks_seq;
        r = virtio_mem_read(v, m->sysfs, m->block_size);
        if (r < 0)
                return r;
        return virtio_mem_device_of(v, index);
}

/* Whether the block's policy is Online=auto-movable (type: a dax rule's, else _ONLINE_TYPE_INVALID
 * for [Memory] or [Node N]): the only one that needs the facts and the groups. */
static bool wants_placement(const Manager *m, int node, OnlineType type)
{
        const NodePolicy *np;

        if (type >= 0)
                return type == ONLINE_TYPE_AUTO_MOVABLE;
        np = node >= 0 ? config_find_node(m->config, (unsigned)node) : NULL;
        return (np ? np->online : m->config->online) == ONLINE_TYPE_AUTO_MOVABLE;
}

bool placement_acpi_pending(Manager *m, unsigned index, int node)
{
        Placement *p = placement_get(m);
        uint64_t now;

        if (!p || !wants_placement(m, node, _ONLINE_TYPE_INVALID) || devices_owner_of_block(m, index))
                return false;
        if (memblock_has_firmware_node(m->sysfs, index)) {
                /* Bound since the map was read: the decision reads it again. */
                p->acpi_read_seq = UINT64_MAX;
                return false;
        }
        /* The maps again, here at most once per loop iteration (the poll comes every millisecond;
         * a read missed only makes the block wait): whether ACPI memory devices exist at all,
         * and whether the block is a virtio-mem device's. */
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) != 0 || now == 0)
                now = 1;
        if (now != p->pending_read_usec || !p->acpi_known) {
                p->pending_read_usec = now;
                if (acpi_device_of(m, p, index) < -1 || virtio_device_of(m, p, index) < -1)
                        return false;
        }
        return p->acpi.n_devices > 0 && !(index < p->acpi.n_blocks && p->acpi.of_block[index] >= 0) &&
               virtio_mem_device_of(&m->virtio_mem, index) < 0;
}

/* Which group a block is in, for counting: the dax device that owns it, else its ACPI memory
 * device, else its virtio-mem device, else the hot-add burst it came in, else none. A burst's key
 * names its run of blocks [first, last]; that of a block looked up for counting only its own. */
typedef struct GroupKey {
        const Device *dax;
        int acpi;   /* -1: none */
        int virtio; /* -1: none */
        uint32_t burst;
        unsigned first, last;
} GroupKey;

static bool device_grouped(Manager *m, Placement *p, unsigned index)
{
        return devices_owner_of_block(m, index) ||
               (index < p->acpi.n_blocks && p->acpi.of_block[index] >= 0) ||
               virtio_mem_device_of(&m->virtio_mem, index) >= 0;
}

static GroupKey group_of(Manager *m, Placement *p, unsigned index)
{
        GroupKey k = { .dax = devices_owner_of_block(m, index), .acpi = -1, .virtio = -1 };

        if (k.dax)
                return k;
        if (index < p->acpi.n_blocks)
                k.acpi = p->acpi.of_block[index];
        if (k.acpi < 0)
                k.virtio = virtio_mem_device_of(&m->virtio_mem, index);
        if (k.acpi < 0 && k.virtio < 0 && index < m->n_blocks) {
                k.burst = m->blocks[index].burst;
                k.first = k.last = index;
        }
        return k;
}

/* Whether b is in a's group (a the block asked about, b one counted). */
static bool group_equal(GroupKey a, GroupKey b)
{
        if (a.dax || b.dax)
                return a.dax == b.dax;
        if (a.acpi >= 0 || b.acpi >= 0)
                return a.acpi == b.acpi;
        if (a.virtio >= 0 || b.virtio >= 0)
                return a.virtio == b.virtio;
        return a.burst != 0 && a.burst == b.burst && b.first >= a.first && b.first <= a.last;
}

/* A block of the burst: no device groups it, it is on the burst's node, and it came in the burst,
 * or it is in sysfs and not looked at yet (its "add" is still on the socket, or it waits for its
 * node link: the kernel links an add's blocks only once all exist). */
static bool burst_member(Manager *m, Placement *p, unsigned index, int node, uint32_t burst)
{
        const Block *b = index < m->n_blocks ? &m->blocks[index] : NULL;
        int n;

        if (device_grouped(m, p, index))
                return false;
        if (b && (b->flags & BLOCK_KNOWN))
                return b->burst == burst && b->node == node;
        if (b && b->burst != 0 && b->burst != burst)
                return false;
        /* Not linked yet is fine: the kernel links a whole add's blocks one after the other. */
        return memblock_read_node(m->sysfs, index, &n) >= 0 && (n == node || n < 0);
}

/* The run of contiguous blocks of the block's burst around it: its memory group. Found once per
 * burst (sysfs is read only for blocks not looked at yet), again for a block outside it. */
static void burst_run(Manager *m, Placement *p, unsigned index, int node, GroupKey *k)
{
        unsigned first = index, last = index;

        if (p->burst == k->burst && p->burst_node == node && index >= p->burst_first &&
            index <= p->burst_last) {
                k->first = p->burst_first;
                k->last = p->burst_last;
                return;
        }
        while (first > 0 && burst_member(m, p, first - 1, node, k->burst))
                first--;
        while (last < BLOCK_INDEX_MAX && burst_member(m, p, last + 1, node, k->burst))
                last++;
        p->burst = k->burst;
        p->burst_node = node;
        k->first = p->burst_first = first;
        k->last = p->burst_last = last;
}

/* Whether the block's struct pages sit on its own memory: a dax device converted with
 * memmap_on_memory, or a DIMM added while memory_hotplug.memmap_on_memory was on (the ACPI driver
 * asks for it whenever the kernel supports it). */
static bool memmap_on_block(const Placement *p, GroupKey k)
{
        if (k.dax)
                return k.dax->dax->memmap > 0;
        return k.acpi >= 0 && p->memmap_global > 0;
}

/* The zone a block counts in: where it is online, or where it is queued to go. */
static Zone block_counted_zone(const Block *b)
{
        if (!(b->flags & BLOCK_KNOWN))
                return 0;
        /* An online block whose valid_zones names no zone spans two kernel zones (DMA, DMA32). */
        if (b->state == BLOCK_ONLINE)
                return b->zone ?: ZONE_NORMAL;
        if (b->flags & BLOCK_QUEUED)
                return b->planned_zone;
        return 0;
}

static int zones_grow(PlacementZones **nodes, size_t *n, int node)
{
        PlacementZones *z;

        if ((size_t)node < *n)
                return 0;
        z = realloc(*nodes, ((size_t)node + 1) * sizeof(PlacementZones));
        if (!z)
                return -ENOMEM;
        for (size_t i = *n; i <= (size_t)node; i++)
                z[i] = (PlacementZones){};
        *nodes = z;
        *n = (size_t)node + 1;
        return 0;
}

/* The arithmetic a queued block was decided with (its kept reason, without the rule before it),
 * NULL when none was kept. */
static const char *queued_arithmetic(const Manager *m, unsigned index)
{
        const QueuedWhy *why = blocks_queued_why(m, index);
        const char *p = why ? strstr(why->reason, AUTO_MOVABLE_REASON) : NULL;

        return p ? p + strlen(AUTO_MOVABLE_REASON) : NULL;
}

/* Counts every block but skip (and, with skip_group, all of group) into nodes, those of group
 * into *ret_group, and those of each virtio-mem device into dynamic[] (one per device of the map;
 * NULL: not counted). */
static int count_blocks(Manager *m, Placement *p, unsigned skip, const GroupKey *group, bool skip_group,
                        PlacementZones **nodes, size_t *n_nodes, PlacementGroup *ret_group,
                        PlacementGroup *dynamic)
{
        uint64_t pages = m->block_size / page_size(), memmap = pages * STRUCT_PAGE_SIZE / page_size();
        const char *first_queued = NULL;
        int r;

        for (size_t i = 0; i < m->n_blocks; i++) {
                const Block *b = &m->blocks[i];
                Zone zone = block_counted_zone(b);
                int node = b->node >= 0 ? b->node : 0;
                PlacementZones *z;
                GroupKey k;
                bool self_memmap;

                if (zone == 0 || i == skip)
                        continue;
                k = group_of(m, p, (unsigned)i);
                if (skip_group && group && group_equal(*group, k))
                        continue;
                r = zones_grow(nodes, n_nodes, node);
                if (r < 0)
                        return r;
                z = &(*nodes)[node];
                self_memmap = memmap_on_block(p, k);
                if (zone == ZONE_MOVABLE) {
                        z->movable += pages;
                        z->movable_memmap += self_memmap ? memmap : 0;
                } else {
                        z->kernel += pages;
                        /* dax and virtio-mem memory is never boot memory, whenever it was onlined */
                        z->kernel_early += (b->flags & BLOCK_EARLY) && !k.dax && k.virtio < 0 ? pages : 0;
                }
                if (dynamic && k.virtio >= 0) {
                        PlacementGroup *g = &dynamic[k.virtio];

                        if (zone == ZONE_MOVABLE)
                                g->present_movable += pages;
                        else
                                g->present_kernel += pages;
                        if (g->node < 0)
                                g->node = node;
                        continue;
                }
                if (!group || !ret_group || !group_equal(*group, k))
                        continue;
                if (zone == ZONE_MOVABLE) {
                        ret_group->present_movable += pages;
                        ret_group->memmap_movable += self_memmap ? memmap : 0;
                } else {
                        if (!first_queued && b->state != BLOCK_ONLINE)
                                first_queued = queued_arithmetic(m, (unsigned)i);
                        ret_group->present_kernel += pages;
                }
        }
        /* The rest of a group follows its first block into the kernel zone: the reason is the one
         * its blocks were queued with in this job, the arithmetic included. */
        if (ret_group)
                ret_group->decided = first_queued;
        return 0;
}

/* The size the kernel gives a dax device's group: its range, trimmed to whole blocks as kmem adds
 * it. */
static uint64_t dax_group_blocks(const Manager *m, const Device *d)
{
        uint64_t first = (d->dax->resource + m->block_size - 1) / m->block_size;
        uint64_t end = (d->dax->resource + d->dax->size) / m->block_size;

        return end > first ? end - first : 0;
}

/* One dynamic group per virtio-mem device: decided a unit at a time, its own kernel memory counted
 * for it, and its movable memory set against the boot memory it needs when another is decided. */
static int virtio_groups(Manager *m, PlacementGroup **ret, size_t *ret_n)
{
        const VirtioMemMap *v = &m->virtio_mem;
        uint64_t pages = m->block_size / page_size();
        PlacementGroup *l;

        *ret = NULL;
        *ret_n = 0;
        if (v->n_devices == 0)
                return 0;
        l = calloc(v->n_devices, sizeof(PlacementGroup));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_devices; i++) {
                l[i] = (PlacementGroup){ .node = -1, .dynamic = true, .max_pages = v->unit_blocks * pages };
                snprintf(l[i].name, sizeof(l[i].name), "%s", v->devices[i].name);
        }
        *ret = l;
        *ret_n = v->n_devices;
        return 0;
}

int placement_zones_read(Manager *m, PlacementZones **ret, size_t *ret_n, PlacementGroup **ret_groups,
                         size_t *ret_n_groups)
{
        Placement *p = placement_get(m);
        PlacementGroup *groups = NULL;
        PlacementZones *nodes = NULL;
        size_t n = 0, n_groups = 0;
        int r;

        if (!p)
                return -ENOMEM;
        r = virtio_groups(m, &groups, &n_groups);
        if (r >= 0)
                r = count_blocks(m, p, UINT32_MAX, NULL, false, &nodes, &n, NULL, groups);
        if (r < 0) {
                free(nodes);
                free(groups);
                return r;
        }
        *ret = nodes;
        *ret_n = n;
        *ret_groups = groups;
        *ret_n_groups = n_groups;
        return 0;
}

/* A dynamic group's unit larger than a block: what of the rest of the unit is online, and whether
 * any of it is in a kernel zone (the kernel's auto_movable_zone_for_pfn() looks at the unit's
 * online sections). */
static void unit_state(Manager *m, unsigned index, PlacementRequest *q)
{
        uint64_t n = m->virtio_mem.unit_blocks, first = index / n * n;

        for (uint64_t i = first; i < first + n && i < m->n_blocks; i++) {
                Zone zone = i == index ? 0 : block_counted_zone(&m->blocks[i]);

                if (zone == ZONE_MOVABLE)
                        q->unit_online_pages += m->block_size / page_size();
                else if (zone != 0)
                        q->unit_has_kernel = true;
        }
}

static void group_describe(Manager *m, Placement *p, GroupKey k, int node, PlacementGroup *ret)
{
        uint64_t pages = m->block_size / page_size(), blocks;

        *ret = (PlacementGroup){ .node = node };
        if (k.dax) {
                snprintf(ret->name, sizeof(ret->name), "%s", k.dax->dax->name);
                blocks = dax_group_blocks(m, k.dax);
        } else if (k.burst) {
                snprintf(ret->name, sizeof(ret->name), "hot-add memory%u-%u", k.first, k.last);
                blocks = k.last - k.first + 1;
        } else {
                snprintf(ret->name, sizeof(ret->name), "%s", p->acpi.names[k.acpi]);
                blocks = p->acpi.n_members[k.acpi];
        }
        ret->max_pages = blocks * pages;
        if (memmap_on_block(p, k))
                ret->memmap_pages = ret->max_pages * STRUCT_PAGE_SIZE / page_size();
}

/* With whole_group, the block's whole group is left out of the counts too: what the policy would
 * do with the group were it all offline (drift). */
static int build(Manager *m, unsigned index, int node, bool whole_group, BlockPlacement *ret)
{
        Placement *p = placement_get(m);
        GroupKey k;
        bool grouped;
        int r;

        *ret = (BlockPlacement){};
        if (!p)
                return -ENOMEM;
        if (p->memmap_global < 0)
                p->memmap_global = dax_memmap_global(m->sysfs);
        r = acpi_device_of(m, p, index);
        if (r < -1)
                return r;
        /* /proc/iomem only for a block no DIMM or dax device claims. */
        if (r < 0 && !devices_owner_of_block(m, index)) {
                r = virtio_device_of(m, p, index);
                if (r < -1)
                        return r;
        }
        k = group_of(m, p, index);
        if (k.burst)
                burst_run(m, p, index, node, &k);
        /* A burst of one block is decided alone, as the kernel does; so is every burst when
         * virtio-mem devices are there but /proc/iomem hides which blocks are theirs: a burst may
         * be such a device's, whose unit is one block (virtio-mem.c). */
        if (k.burst && (k.first == k.last || m->virtio_mem.n_hidden > 0))
                k.burst = 0;
        grouped = k.dax || k.acpi >= 0 || k.burst;
        if (grouped)
                group_describe(m, p, k, node, &ret->group);
        r = virtio_groups(m, &ret->dynamic, &ret->n_dynamic);
        if (r >= 0)
                /* A dynamic group is decided a unit at a time, whatever the rest of it is:
                 * drift leaves only the block out of the counts. */
                r = count_blocks(m, p, index, grouped || k.virtio >= 0 ? &k : NULL,
                                 whole_group && k.virtio < 0, &ret->nodes, &ret->n_nodes, &ret->group,
                                 ret->dynamic);
        if (r < 0) {
                block_placement_done(ret);
                return r;
        }
        if (k.virtio >= 0)
                ret->dynamic[k.virtio].node = node;
        ret->facts = (PlacementFacts){
                .nodes = ret->nodes,
                .n_nodes = ret->n_nodes,
                .groups = ret->dynamic,
                .n_groups = ret->n_dynamic,
                .page_size = page_size(),
        };
        ret->input = (PlacementInput){
                .facts = &ret->facts,
                .request = { .node = node,
                             .group = grouped         ? &ret->group
                                      : k.virtio >= 0 ? &ret->dynamic[k.virtio]
                                                      : NULL,
                             .nr_pages = m->block_size / page_size() },
        };
        if (k.virtio >= 0 && m->virtio_mem.unit_blocks > 1)
                unit_state(m, index, &ret->input.request);
        return 0;
}

int block_placement_build(Manager *m, unsigned index, int node, BlockPlacement *ret)
{
        return build(m, index, node, false, ret);
}

void block_placement_done(BlockPlacement *p)
{
        free(p->nodes);
        free(p->dynamic);
        *p = (BlockPlacement){};
}

static int decide(Manager *m, unsigned index, const BlockFacts *f, OnlineType type, const char *rule,
                  bool whole_group, Decision *ret)
{
        BlockPlacement bp = {};
        bool built = false;
        int r = 0;

        if (wants_placement(m, f->node, type) && f->state == BLOCK_OFFLINE) {
                r = build(m, index, f->node, whole_group, &bp);
                built = r >= 0;
        }
        if (type >= 0)
                policy_decide_as(m->config, f, type, rule, built ? &bp.input : NULL, ret);
        else
                policy_decide(m->config, f, built ? &bp.input : NULL, ret);
        block_placement_done(&bp);
        return r;
}

int placement_decide_block(Manager *m, unsigned index, const BlockFacts *f, OnlineType type,
                           const char *rule, Decision *ret)
{
        return decide(m, index, f, type, rule, false, ret);
}

bool placement_block_drift(Manager *m, unsigned index, Decision *ret)
{
        const Block *b = &m->blocks[index];
        const Device *owner;
        OnlineType type = _ONLINE_TYPE_INVALID;
        const char *rule = NULL;
        Decision d;
        BlockFacts f;
        size_t n;

        if (!(b->flags & BLOCK_KNOWN) || b->state != BLOCK_ONLINE || b->zone == 0)
                return false;
        owner = devices_owner_of_block(m, index);
        /* Boot memory is not the policy's to place (a dax device's memory never is boot memory). */
        if ((b->flags & BLOCK_EARLY) && !owner)
                return false;
        if (owner) {
                if (owner->decision.mode == DAX_MODE_IGNORE || owner->decision.action != DAX_ACTION_NONE)
                        return false;
                type = owner->decision.online;
                rule = owner->decision.rule;
        }
        /* The block as if offline, with both zones open to it: where the policy would put it. */
        f = (BlockFacts){ .index = index,
                          .node = b->node,
                          .state = BLOCK_OFFLINE,
                          .have_valid_zones = true,
                          .valid_zones = ZONE_NORMAL | ZONE_MOVABLE,
                          .default_zone = ZONE_NORMAL };
        (void)decide(m, index, &f, type, rule, true, &d);
        /* Online=online is the kernel's choice, whatever it was. */
        if (d.action != ACTION_ONLINE || d.type == ONLINE_TYPE_ONLINE ||
            (d.zone == ZONE_MOVABLE) == (b->zone == ZONE_MOVABLE))
                return false;
        *ret = d;
        n = (size_t)snprintf(ret->reason, sizeof(ret->reason), "online in %s, ", zone_to_string(b->zone));
        if (n < sizeof(ret->reason))
                snprintf(ret->reason + n, sizeof(ret->reason) - n, "%s", d.reason);
        return true;
}

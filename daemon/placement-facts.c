/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dax.h"
#include "devices.h"
#include "intake.h"
#include "memblock.h"
#include "platform-facts.h"
#include "placement-facts.h"
#include "time-util.h"

/* sizeof(struct page) on 64-bit kernels: a block's memmap is block pages x 64 bytes. */
#define STRUCT_PAGE_SIZE 64

static void view_free(PlacementView *v);

Placement *placement_free(Placement *p)
{
        if (!p)
                return NULL;
        acpi_memory_done(&p->acpi);
        view_free(p->view);
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

/* Asked once: the counts use it for every block. */
static uint64_t page_size(void)
{
        static uint64_t size;
        long n;

        if (size == 0) {
                n = sysconf(_SC_PAGESIZE);
                size = n > 0 ? (uint64_t)n : 4096;
        }
        return size;
}

/* The ACPI map, read again when a block is not in it and blocks may have come since the last read
 * (intake_new_blocks_seq(): an "add" uevent, a scan): the kernel links a DIMM's blocks only after it
 * added them all. Not once per loop iteration: more uevents can be read in one, of blocks added
 * after the read. */
static int acpi_device_of(Manager *m, Placement *p, unsigned index)
{
        AcpiMemory fresh;
        int r;

        if (index < p->acpi.n_blocks && p->acpi.of_block[index] >= 0)
                return p->acpi.of_block[index];
        if (p->acpi_read_seq == intake_new_blocks_seq(m->intake))
                return -1;
        r = acpi_memory_read(m->sysfs, &fresh);
        if (r < 0)
                return r;
        acpi_memory_done(&p->acpi);
        p->acpi = fresh;
        p->acpi_gen++;
        p->acpi_read_seq = intake_new_blocks_seq(m->intake);
        p->acpi_known = true;
        return index < p->acpi.n_blocks ? p->acpi.of_block[index] : -1;
}

/* The virtio-mem map, read again under the same rule as the ACPI map: the kernel adds a device's
 * System RAM resource before it creates the blocks, so a block missing from the map is new. */
static int virtio_device_of(Manager *m, Placement *p, unsigned index)
{
        VirtioMemMap *v = &m->platform->virtio_mem;
        int r;

        r = virtio_mem_device_of(v, index);
        if (r >= 0 || v->fd < 0 || v->hidden)
                return r;
        if (p->virtio_read_seq == intake_new_blocks_seq(m->intake))
                return -1;
        p->virtio_read_seq = intake_new_blocks_seq(m->intake);
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
        Placement *p;
        uint64_t now;

        assert(m);

        p = placement_get(m);

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
               virtio_mem_device_of(&m->platform->virtio_mem, index) < 0;
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

/* A static group's blocks on one node, as they count there. A group's shares are chained; there is
 * almost always one (a DIMM, a dax device, a burst's run each sit on one node). */
typedef struct NodeShare {
        int node;
        PlacementZones zones;
        uint32_t next; /* 1 + the index of the group's next share; 0: none */
} NodeShare;

/* A static group (a dax device, an ACPI memory device, the run of a hot-add burst) as counted. */
typedef struct GroupCount {
        GroupKey key;
        int node; /* a burst's run: the node it was found on */
        uint64_t present_kernel, present_movable, memmap_movable;
        unsigned why[2]; /* its first two blocks queued for a kernel zone with the arithmetic kept */
        uint32_t shares; /* 1 + the index of its first share; 0: none */
} GroupCount;

/* What of a dax device the counts and the drift depend on. */
typedef struct DeviceKey {
        uint64_t resource, size;
        int driver, memmap;
        bool pending;
        DaxMode mode;
        DaxAction action;
        OnlineType online;
        char rule[sizeof(((DaxDecision *)0)->rule)];
        char name[sizeof(((PlacementGroup *)0)->name)];
} DeviceKey;

struct PlacementView {
        /* What the counts were made from. */
        bool made;
        bool copied;  /* the table was copied: a read may find the counts current */
        Block *table; /* the block table, copied: compared whole, it is written in many places */
        size_t n, n_allocated;
        const Device *devices; /* m->devices->list: the groups' keys point into it */
        DeviceKey *device_keys;
        size_t n_devices;
        uint64_t new_blocks_seq, acpi_gen, virtio_seq;
        int memmap_global;

        /* The counts. */
        uint32_t *owner;       /* by block: 1 + the index of the dax device that owns it; 0: none */
        uint32_t *group;       /* by block: 1 + the index of its static group; 0: none */
        PlacementZones *nodes; /* every block that counts, by node */
        size_t n_nodes;
        PlacementGroup *dynamic; /* every virtio-mem device, with all of its blocks */
        size_t n_dynamic;
        GroupCount *groups;
        size_t n_groups, n_groups_allocated;
        NodeShare *shares;
        size_t n_shares, n_shares_allocated;
        uint32_t *dax_group, *acpi_group; /* by device: 1 + the index of its group; 0: none yet */

        /* Each block's drift, worked out on first use, and the config it was worked out with. */
        bool drift_made;
        uint8_t *drift;
        unsigned n_drift;
        OnlineType online;
        unsigned movable_ratio;
        bool numa_aware;
        NodePolicy *node_policies;
        size_t n_node_policies;
};

static int grow(void **p, size_t *allocated, size_t need, size_t size)
{
        size_t n = *allocated;
        void *l;

        if (need <= n)
                return 0;
        while (n < need)
                n = n ? 2 * n : 16;
        l = realloc(*p, n * size);
        if (!l)
                return -ENOMEM;
        *p = l;
        *allocated = n;
        return 0;
}

/* The dax device that owns the block: from the view's map once it is made (v NULL: looked up). */
static const Device *owner_of(Manager *m, const PlacementView *v, unsigned index)
{
        if (v && index < v->n)
                return v->owner[index] ? &m->devices->list[v->owner[index] - 1] : NULL;
        return devices_owner_of_block(m, index);
}

static bool device_grouped(Manager *m, Placement *p, const PlacementView *v, unsigned index)
{
        return owner_of(m, v, index) || (index < p->acpi.n_blocks && p->acpi.of_block[index] >= 0) ||
               virtio_mem_device_of(&m->platform->virtio_mem, index) >= 0;
}

static GroupKey group_of(Manager *m, Placement *p, const PlacementView *v, unsigned index)
{
        GroupKey k = { .dax = owner_of(m, v, index), .acpi = -1, .virtio = -1 };

        if (k.dax)
                return k;
        if (index < p->acpi.n_blocks)
                k.acpi = p->acpi.of_block[index];
        if (k.acpi < 0)
                k.virtio = virtio_mem_device_of(&m->platform->virtio_mem, index);
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

static bool key_same(const GroupKey *a, const GroupKey *b)
{
        return a->dax == b->dax && a->acpi == b->acpi && a->virtio == b->virtio && a->burst == b->burst &&
               (a->burst == 0 || (a->first == b->first && a->last == b->last));
}

/* A block of the burst: no device groups it, it is on the burst's node, and it came in the burst,
 * or it is in sysfs and not looked at yet (its "add" is still on the socket, or it waits for its
 * node link: the kernel links an add's blocks only once all exist). */
static bool burst_member(Manager *m, Placement *p, const PlacementView *v, unsigned index, int node,
                         uint32_t burst)
{
        const Block *b = index < m->n_blocks ? &m->blocks[index] : NULL;
        int n;

        if (device_grouped(m, p, v, index))
                return false;
        if (b && block_known(b))
                return b->burst == burst && b->node == node;
        if (b && b->burst != 0 && b->burst != burst)
                return false;
        /* Not linked yet is fine: the kernel links a whole add's blocks one after the other. */
        return memblock_read_node(m->sysfs, index, &n) >= 0 && (n == node || n < 0);
}

/* The run of contiguous blocks of the burst around the block: its memory group. */
static void burst_extent(Manager *m, Placement *p, const PlacementView *v, unsigned index, int node,
                         GroupKey *k)
{
        unsigned first = index, last = index;

        while (first > 0 && burst_member(m, p, v, first - 1, node, k->burst))
                first--;
        while (last < BLOCK_INDEX_MAX && burst_member(m, p, v, last + 1, node, k->burst))
                last++;
        k->first = first;
        k->last = last;
}

/* The run for a decision: found once per burst (sysfs is read only for blocks not looked at yet),
 * again for a block outside it, so that the blocks of one add are one group as they come. */
static void burst_run(Manager *m, Placement *p, const PlacementView *v, unsigned index, int node,
                      GroupKey *k)
{
        if (p->burst == k->burst && p->burst_node == node && index >= p->burst_first &&
            index <= p->burst_last) {
                k->first = p->burst_first;
                k->last = p->burst_last;
                return;
        }
        burst_extent(m, p, v, index, node, k);
        p->burst = k->burst;
        p->burst_node = node;
        p->burst_first = k->first;
        p->burst_last = k->last;
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
        if (!block_known(b))
                return 0;
        /* An online block whose valid_zones names no zone spans two kernel zones (DMA, DMA32). */
        if (b->state == BLOCK_ONLINE)
                return b->zone ?: ZONE_NORMAL;
        if (b->life == BLOCK_LIFE_QUEUED)
                return b->planned_zone;
        return 0;
}

/* A block's pages, and its memmap's. */
typedef struct BlockPages {
        uint64_t pages, memmap;
} BlockPages;

static BlockPages block_pages(const Manager *m)
{
        uint64_t pages = m->block_size / page_size();

        return (BlockPages){ .pages = pages, .memmap = pages * STRUCT_PAGE_SIZE / page_size() };
}

/* What a block that counts adds to its node's zones (k: its group, as counted). */
static PlacementZones block_share(BlockPages bp, const Placement *p, const Block *b, Zone zone, GroupKey k)
{
        uint64_t pages = bp.pages, memmap = bp.memmap;

        if (zone == ZONE_MOVABLE)
                return (PlacementZones){ .movable = pages,
                                         .movable_memmap = memmap_on_block(p, k) ? memmap : 0 };
        /* dax and virtio-mem memory is never boot memory, whenever it was onlined */
        return (PlacementZones){ .kernel = pages,
                                 .kernel_early = (b->facts & BLOCK_FACT_EARLY) && !k.dax && k.virtio < 0
                                                         ? pages
                                                         : 0 };
}

static void zones_add(PlacementZones *a, const PlacementZones *s, bool subtract)
{
        /* Taking off only what was added: no wrap. */
        a->kernel_early = subtract ? a->kernel_early - s->kernel_early : a->kernel_early + s->kernel_early;
        a->kernel = subtract ? a->kernel - s->kernel : a->kernel + s->kernel;
        a->movable = subtract ? a->movable - s->movable : a->movable + s->movable;
        a->movable_memmap =
                subtract ? a->movable_memmap - s->movable_memmap : a->movable_memmap + s->movable_memmap;
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

/* The Online=auto-movable arithmetic a queued block was decided with, NULL when none was kept.
 * Valid until the next block is queued. */
static const PlacementResult *queued_arithmetic(const Manager *m, unsigned index)
{
        return intake_queued_arithmetic(m->intake, index);
}

/* Counts a block of the group, s its share of its node. Its share is kept past v->n_shares. */
static int group_count_block(Manager *m, PlacementView *v, GroupCount *g, unsigned index, int node,
                             Zone zone, const PlacementZones *s)
{
        const Block *b = &m->blocks[index];
        uint32_t i = g->shares, last = 0;
        int r;

        if (zone == ZONE_MOVABLE) {
                g->present_movable += s->movable;
                g->memmap_movable += s->movable_memmap;
        } else {
                g->present_kernel += s->kernel;
                if (b->state != BLOCK_ONLINE && g->why[1] == BLOCK_INDEX_NONE && queued_arithmetic(m, index))
                        g->why[g->why[0] == BLOCK_INDEX_NONE ? 0 : 1] = index;
        }
        while (i && v->shares[i - 1].node != node) {
                last = i;
                i = v->shares[i - 1].next;
        }
        if (!i) {
                r = grow((void **)&v->shares, &v->n_shares_allocated, v->n_shares + 1, sizeof(NodeShare));
                if (r < 0)
                        return r;
                v->shares[v->n_shares] = (NodeShare){ .node = node };
                i = (uint32_t)++v->n_shares;
                if (last)
                        v->shares[last - 1].next = i;
                else
                        g->shares = i;
        }
        zones_add(&v->shares[i - 1].zones, s, false);
        return 0;
}

static int group_new(PlacementView *v, const GroupKey *k, uint32_t *ret)
{
        int r;

        r = grow((void **)&v->groups, &v->n_groups_allocated, v->n_groups + 1, sizeof(GroupCount));
        if (r < 0)
                return r;
        v->groups[v->n_groups] = (GroupCount){ .key = *k, .why = { BLOCK_INDEX_NONE, BLOCK_INDEX_NONE } };
        *ret = (uint32_t)++v->n_groups;
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
        const VirtioMemMap *v = &m->platform->virtio_mem;
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

static void device_key(const Device *d, DeviceKey *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->resource = d->dax->resource;
        ret->size = d->dax->size;
        ret->driver = d->dax->driver;
        ret->memmap = d->dax->memmap;
        ret->pending = d->pending;
        ret->mode = d->decision.mode;
        ret->action = d->decision.action;
        ret->online = d->decision.online;
        snprintf(ret->rule, sizeof(ret->rule), "%s", d->decision.rule);
        snprintf(ret->name, sizeof(ret->name), "%s", d->dax->name);
}

static void view_free(PlacementView *v)
{
        if (!v)
                return;
        free(v->table);
        free(v->device_keys);
        free(v->owner);
        free(v->group);
        free(v->nodes);
        free(v->dynamic);
        free(v->groups);
        free(v->shares);
        free(v->dax_group);
        free(v->acpi_group);
        free(v->drift);
        free(v->node_policies);
        free(v);
}

/* Whether the counts are still what the manager's state makes; but in a read that compared it
 * already, the block table is compared too (O(n), but no block is counted). */
/* Who asks for the counts: a decision (the table is compared, but counts made for it keep no copy:
 * the decision changes the table at once), a read (compared, and the copy kept for the next read),
 * or a read that has compared it already. */
typedef enum ViewUse {
        VIEW_DECISION,
        VIEW_READ,
        VIEW_IN_READ,
} ViewUse;

static bool view_current(Manager *m, const Placement *p, const PlacementView *v, ViewUse use)
{
        DeviceKey k;

        if (!v->made || v->n != m->n_blocks || v->new_blocks_seq != intake_new_blocks_seq(m->intake) ||
            v->acpi_gen != p->acpi_gen || v->virtio_seq != m->platform->virtio_mem.seq ||
            v->memmap_global != p->memmap_global || v->devices != m->devices->list ||
            v->n_devices != m->devices->n)
                return false;
        for (size_t i = 0; i < m->devices->n; i++) {
                device_key(&m->devices->list[i], &k);
                if (memcmp(&k, &v->device_keys[i], sizeof(k)) != 0)
                        return false;
        }
        return use == VIEW_IN_READ ||
               (v->copied && (v->n == 0 || memcmp(v->table, m->blocks, v->n * sizeof(Block)) == 0));
}

static int view_reserve(Manager *m, Placement *p, PlacementView *v)
{
        size_t n = m->n_blocks, n_alloc = v->n_allocated;
        void *l;

        if (n > v->n_allocated) {
                n_alloc = n;
                l = realloc(v->table, n_alloc * sizeof(Block));
                if (!l)
                        return -ENOMEM;
                v->table = l;
                l = realloc(v->owner, n_alloc * sizeof(uint32_t));
                if (!l)
                        return -ENOMEM;
                v->owner = l;
                l = realloc(v->group, n_alloc * sizeof(uint32_t));
                if (!l)
                        return -ENOMEM;
                v->group = l;
                l = realloc(v->drift, n_alloc);
                if (!l)
                        return -ENOMEM;
                v->drift = l;
                v->n_allocated = n_alloc;
        }
        free(v->device_keys);
        free(v->dax_group);
        free(v->acpi_group);
        v->device_keys = calloc(m->devices->n ?: 1, sizeof(DeviceKey));
        v->dax_group = calloc(m->devices->n ?: 1, sizeof(uint32_t));
        v->acpi_group = calloc(p->acpi.n_devices ?: 1, sizeof(uint32_t));
        if (!v->device_keys || !v->dax_group || !v->acpi_group)
                return -ENOMEM;
        v->nodes = mfree(v->nodes);
        v->n_nodes = 0;
        v->dynamic = mfree(v->dynamic);
        v->n_dynamic = 0;
        return virtio_groups(m, &v->dynamic, &v->n_dynamic);
}

/* Which dax device owns each block, as devices_owner_of_block() says, in one pass over the
 * devices: the first in the table wins where ranges overlap. */
static void view_owners(Manager *m, PlacementView *v)
{
        memset(v->owner, 0, v->n * sizeof(uint32_t));
        for (size_t i = m->devices->n; i > 0; i--) {
                const Device *d = &m->devices->list[i - 1];
                uint64_t first, top, end;

                if ((d->dax->driver != DAX_DRIVER_KMEM && !d->pending) || m->block_size == 0)
                        continue;
                /* The blocks whose first byte is in [resource, resource + size). */
                first = d->dax->resource / m->block_size + (d->dax->resource % m->block_size != 0);
                top = d->dax->resource + d->dax->size;
                end = top / m->block_size + (top % m->block_size != 0);
                for (uint64_t b = first; b < end && b < v->n; b++)
                        v->owner[b] = (uint32_t)i;
        }
}

/* The block's static group in the view, made when its first block is met. A burst's run is found
 * from the first of its blocks: its other blocks are in it. */
static int view_group_of(Manager *m, Placement *p, PlacementView *v, unsigned index, GroupKey *k,
                         uint32_t *run, uint32_t *ret)
{
        const Block *b = &m->blocks[index];
        uint32_t *slot;

        *ret = 0;
        if (k->dax)
                slot = &v->dax_group[k->dax - m->devices->list];
        else if (k->acpi >= 0)
                slot = &v->acpi_group[k->acpi];
        else if (k->virtio < 0 && k->burst) {
                const GroupCount *g = *run ? &v->groups[*run - 1] : NULL;

                if (g && g->key.burst == k->burst && g->node == b->node && index <= g->key.last) {
                        *k = g->key;
                        *ret = *run;
                        return 0;
                }
                burst_extent(m, p, v, index, b->node, k);
                slot = run;
                *slot = 0;
        } else
                return 0;
        if (!*slot) {
                int r = group_new(v, k, slot);
                if (r < 0)
                        return r;
                v->groups[*slot - 1].node = b->node;
        }
        *k = v->groups[*slot - 1].key;
        *ret = *slot;
        return 0;
}

/* The counts: one pass over the block table. */
static int view_make(Manager *m, Placement *p, PlacementView *v, bool copy)
{
        BlockPages bp = block_pages(m);
        uint32_t run = 0;
        int r;

        v->made = v->drift_made = false;
        r = view_reserve(m, p, v);
        if (r < 0)
                return r;
        v->n = m->n_blocks;
        v->copied = copy;
        if (copy && v->n > 0)
                memcpy(v->table, m->blocks, v->n * sizeof(Block));
        v->n_groups = v->n_shares = 0;
        view_owners(m, v);

        for (size_t i = 0; i < v->n; i++) {
                const Block *b = &m->blocks[i];
                Zone zone = block_counted_zone(b);
                int node = b->node >= 0 ? b->node : 0;
                PlacementZones s;
                GroupKey k;

                v->group[i] = 0;
                if (!block_known(b))
                        continue;
                k = group_of(m, p, v, (unsigned)i);
                r = view_group_of(m, p, v, (unsigned)i, &k, &run, &v->group[i]);
                if (r < 0)
                        return r;
                if (zone == 0)
                        continue;
                r = zones_grow(&v->nodes, &v->n_nodes, node);
                if (r < 0)
                        return r;
                s = block_share(bp, p, b, zone, k);
                zones_add(&v->nodes[node], &s, false);
                if (k.virtio >= 0) {
                        PlacementGroup *g = &v->dynamic[k.virtio];

                        if (zone == ZONE_MOVABLE)
                                g->present_movable += s.movable;
                        else
                                g->present_kernel += s.kernel;
                        if (g->node < 0)
                                g->node = node;
                } else if (v->group[i]) {
                        r = group_count_block(m, v, &v->groups[v->group[i] - 1], (unsigned)i, node, zone,
                                              &s);
                        if (r < 0)
                                return r;
                }
        }

        v->devices = m->devices->list;
        v->n_devices = m->devices->n;
        for (size_t i = 0; i < m->devices->n; i++)
                device_key(&m->devices->list[i], &v->device_keys[i]);
        v->new_blocks_seq = intake_new_blocks_seq(m->intake);
        v->acpi_gen = p->acpi_gen;
        v->virtio_seq = m->platform->virtio_mem.seq;
        v->memmap_global = p->memmap_global;
        v->made = true;
        p->stats.views++;
        p->stats.blocks_counted += v->n;
        return 0;
}

static int view_get(Manager *m, Placement *p, ViewUse use, PlacementView **ret)
{
        int r;

        if (!p->view) {
                p->view = calloc(1, sizeof(PlacementView));
                if (!p->view)
                        return -ENOMEM;
        }
        if (!view_current(m, p, p->view, use)) {
                r = view_make(m, p, p->view, use != VIEW_DECISION);
                if (r < 0)
                        return r;
        }
        *ret = p->view;
        return 0;
}

int placement_view(Manager *m, PlacementView **ret)
{
        Placement *p;

        assert(m);
        assert(ret);

        p = placement_get(m);

        if (!p)
                return -ENOMEM;
        return view_get(m, p, VIEW_READ, ret);
}

/* The counts of the block's static group k: the view's, or counted now from its blocks where the
 * view found it otherwise (a burst's run as found when its first block was decided, since grown).
 * The shares of one counted now are kept past v->n_shares. */
static int group_counts(Manager *m, Placement *p, PlacementView *v, unsigned index, const GroupKey *k,
                        GroupCount *tmp, const GroupCount **ret)
{
        BlockPages bp = block_pages(m);
        uint32_t gid = index < v->n ? v->group[index] : 0;
        size_t from = 0, to = v->n;
        int r;

        if (gid && key_same(&v->groups[gid - 1].key, k)) {
                *ret = &v->groups[gid - 1];
                return 0;
        }
        *tmp = (GroupCount){ .key = *k, .why = { BLOCK_INDEX_NONE, BLOCK_INDEX_NONE } };
        if (k->burst) {
                from = k->first;
                to = k->last < v->n ? (size_t)k->last + 1 : v->n;
        }
        for (size_t i = from; i < to; i++) {
                const Block *b = &m->blocks[i];
                Zone zone = block_counted_zone(b);
                PlacementZones s;
                GroupKey bk;

                if (zone == 0)
                        continue;
                bk = group_of(m, p, v, (unsigned)i);
                if (!group_equal(*k, bk))
                        continue;
                s = block_share(bp, p, b, zone, bk);
                r = group_count_block(m, v, tmp, (unsigned)i, b->node >= 0 ? b->node : 0, zone, &s);
                if (r < 0)
                        return r;
        }
        p->stats.blocks_counted += to > from ? to - from : 0;
        *ret = tmp;
        return 0;
}

int placement_zones_read(Manager *m, PlacementZones **ret, size_t *ret_n, PlacementGroup **ret_groups,
                         size_t *ret_n_groups)
{
        _cleanup_(freep) PlacementZones *nodes = NULL;
        _cleanup_(freep) PlacementGroup *groups = NULL;
        PlacementView *v;
        int r;

        assert(m);
        assert(ret);
        assert(ret_n);
        assert(ret_groups);
        assert(ret_n_groups);

        r = placement_view(m, &v);
        if (r < 0)
                return r;
        if (v->n_nodes > 0) {
                nodes = malloc(v->n_nodes * sizeof(PlacementZones));
                if (!nodes)
                        return -ENOMEM;
                memcpy(nodes, v->nodes, v->n_nodes * sizeof(PlacementZones));
        }
        if (v->n_dynamic > 0) {
                groups = malloc(v->n_dynamic * sizeof(PlacementGroup));
                if (!groups)
                        return -ENOMEM;
                memcpy(groups, v->dynamic, v->n_dynamic * sizeof(PlacementGroup));
        }
        *ret = TAKE_PTR(nodes);
        *ret_n = v->n_nodes;
        *ret_groups = TAKE_PTR(groups);
        *ret_n_groups = v->n_dynamic;
        return 0;
}

/* A dynamic group's unit larger than a block: what of the rest of the unit is online, and whether
 * any of it is in a kernel zone (the kernel's auto_movable_zone_for_pfn() looks at the unit's
 * online sections). */
static void unit_state(Manager *m, unsigned index, PlacementRequest *q)
{
        uint64_t n = m->platform->virtio_mem.unit_blocks, first = index / n * n;

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

/* What the policy needs for one block, the block itself left out of the counts (so a queued block
 * is decided again as it was). */
typedef struct BlockPlacement {
        PlacementZones *nodes;
        size_t n_nodes;
        PlacementGroup group;    /* the block's static group */
        PlacementGroup *dynamic; /* every virtio-mem device's group, by its index in the map */
        size_t n_dynamic;
        PlacementFacts facts;
        PlacementInput input;
} BlockPlacement;

static void block_placement_done(BlockPlacement *p)
{
        free(p->nodes);
        free(p->dynamic);
        *p = (BlockPlacement){};
}

/* The maps a block's group comes from, read again if it is not in them and blocks may have come
 * since. */
static int maps_refresh(Manager *m, Placement *p, unsigned index)
{
        int r;

        r = acpi_device_of(m, p, index);
        if (r < -1)
                return r;
        /* /proc/iomem only for a block no DIMM or dax device claims. */
        if (r < 0 && !devices_owner_of_block(m, index)) {
                r = virtio_device_of(m, p, index);
                if (r < -1)
                        return r;
        }
        return 0;
}

/* The counts with the block (and with whole_group, its whole group) taken off. With whole_group,
 * what the policy would do with the group were it all offline (drift), the group's run as the
 * view found it. */
static int build(Manager *m, ViewUse use, unsigned index, int node, bool whole_group, BlockPlacement *ret)
{
        Placement *p = placement_get(m);
        const GroupCount *g = NULL;
        PlacementZones self = {};
        PlacementView *v;
        GroupKey k, self_key;
        GroupCount tmp;
        size_t n_shares;
        unsigned why;
        Zone zone = 0;
        bool grouped, member;
        int r;

        *ret = (BlockPlacement){};
        if (!p)
                return -ENOMEM;
        if (p->memmap_global < 0)
                p->memmap_global = dax_memmap_global(m->sysfs);
        r = maps_refresh(m, p, index);
        if (r < 0)
                return r;
        r = view_get(m, p, use, &v);
        if (r < 0)
                return r;
        k = self_key = group_of(m, p, v, index);
        if (k.burst && whole_group && index < v->n && v->group[index] &&
            v->groups[v->group[index] - 1].key.burst == k.burst)
                k = v->groups[v->group[index] - 1].key;
        else if (k.burst && whole_group)
                burst_extent(m, p, v, index, node, &k);
        else if (k.burst)
                burst_run(m, p, v, index, node, &k);
        /* A burst of one block is decided alone, as the kernel does; so is every burst when
         * virtio-mem devices are there but /proc/iomem hides which blocks are theirs: a burst may
         * be such a device's, whose unit is one block (virtio-mem.c). */
        if (k.burst && (k.first == k.last || m->platform->virtio_mem.n_hidden > 0))
                k.burst = 0;
        grouped = k.dax || k.acpi >= 0 || k.burst;
        if (grouped)
                group_describe(m, p, k, node, &ret->group);

        if (v->n_nodes > 0) {
                ret->nodes = malloc(v->n_nodes * sizeof(PlacementZones));
                if (!ret->nodes)
                        return -ENOMEM;
                memcpy(ret->nodes, v->nodes, v->n_nodes * sizeof(PlacementZones));
                ret->n_nodes = v->n_nodes;
        }
        if (v->n_dynamic > 0) {
                ret->dynamic = malloc(v->n_dynamic * sizeof(PlacementGroup));
                if (!ret->dynamic) {
                        block_placement_done(ret);
                        return -ENOMEM;
                }
                memcpy(ret->dynamic, v->dynamic, v->n_dynamic * sizeof(PlacementGroup));
                ret->n_dynamic = v->n_dynamic;
        }

        /* The block itself, as it counts. */
        if (index < v->n)
                zone = block_counted_zone(&m->blocks[index]);
        if (zone)
                self = block_share(block_pages(m), p, &m->blocks[index], zone, self_key);
        member = zone && grouped && group_equal(k, self_key);
        n_shares = v->n_shares;
        if (grouped) {
                r = group_counts(m, p, v, index, &k, &tmp, &g);
                if (r < 0) {
                        block_placement_done(ret);
                        return r;
                }
        }
        if (zone && !(member && whole_group))
                zones_add(&ret->nodes[m->blocks[index].node >= 0 ? m->blocks[index].node : 0], &self, true);
        if (grouped && whole_group)
                /* A dynamic group is decided a unit at a time, whatever the rest of it is: drift
                 * leaves only the block out of the counts (never here: no static group). */
                for (uint32_t i = g->shares; i; i = v->shares[i - 1].next)
                        zones_add(&ret->nodes[v->shares[i - 1].node], &v->shares[i - 1].zones, true);
        else if (grouped) {
                ret->group.present_movable = g->present_movable;
                ret->group.memmap_movable = g->memmap_movable;
                ret->group.present_kernel = g->present_kernel;
                if (member && zone == ZONE_MOVABLE) {
                        ret->group.present_movable -= self.movable;
                        ret->group.memmap_movable -= self.movable_memmap;
                } else if (member)
                        ret->group.present_kernel -= self.kernel;
                /* The rest of a group follows its first block into the kernel zone: the reason is
                 * the one its blocks were queued with in this job, the arithmetic included. */
                why = g->why[0] != index ? g->why[0] : g->why[1];
                ret->group.decided = why != BLOCK_INDEX_NONE ? queued_arithmetic(m, why) : NULL;
        }
        v->n_shares = n_shares;
        if (zone && self_key.virtio >= 0) {
                PlacementGroup *d = &ret->dynamic[self_key.virtio];

                if (zone == ZONE_MOVABLE)
                        d->present_movable -= self.movable;
                else
                        d->present_kernel -= self.kernel;
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
        if (k.virtio >= 0 && m->platform->virtio_mem.unit_blocks > 1)
                unit_state(m, index, &ret->input.request);
        return 0;
}

static int decide(Manager *m, ViewUse use, unsigned index, const BlockFacts *f, OnlineType type,
                  const char *rule, bool whole_group, Decision *ret)
{
        BlockPlacement bp = {};
        bool built = false;
        int r = 0;

        if (wants_placement(m, f->node, type) && f->state == BLOCK_OFFLINE) {
                r = build(m, use, index, f->node, whole_group, &bp);
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
        assert(m);
        assert(f);
        assert(rule || type < 0);
        assert(ret);

        return decide(m, VIEW_DECISION, index, f, type, rule, false, ret);
}

int placement_view_decide(Manager *m, PlacementView *v, unsigned index, const BlockFacts *f, Decision *ret)
{
        assert(m);
        assert(v);
        assert(v == m->placement->view);
        assert(f);
        assert(ret);

        return decide(m, VIEW_IN_READ, index, f, _ONLINE_TYPE_INVALID, NULL, false, ret);
}

/* Whether the block is one whose zone the policy places, and by which rule: online, in a zone, not
 * boot memory, and its device (if any) leaves its blocks' zone to the policy. */
static bool drift_candidate(Manager *m, const PlacementView *v, unsigned index, OnlineType *ret_type,
                            const char **ret_rule)
{
        const Block *b = &m->blocks[index];
        const Device *owner;

        if (!block_known(b) || b->state != BLOCK_ONLINE || b->zone == 0)
                return false;
        owner = owner_of(m, v, index);
        /* Boot memory is not the policy's to place (a dax device's memory never is boot memory). */
        if ((b->facts & BLOCK_FACT_EARLY) && !owner)
                return false;
        *ret_type = _ONLINE_TYPE_INVALID;
        *ret_rule = NULL;
        if (owner) {
                if (owner->decision.mode == DAX_MODE_IGNORE || owner->decision.action != DAX_ACTION_NONE)
                        return false;
                *ret_type = owner->decision.online;
                *ret_rule = owner->decision.rule;
        }
        return true;
}

/* Works the block's drift out on the view (ret NULL: the verdict only). */
static bool drift_of(Manager *m, PlacementView *v, unsigned index, Decision *ret)
{
        const Block *b = &m->blocks[index];
        OnlineType type;
        const char *rule;
        Decision d;
        BlockFacts f;
        size_t n;

        if (!drift_candidate(m, v, index, &type, &rule))
                return false;
        m->placement->stats.drift_checks++;
        /* The block as if offline, with both zones open to it: where the policy would put it. */
        f = (BlockFacts){ .index = index,
                          .node = b->node,
                          .state = BLOCK_OFFLINE,
                          .have_valid_zones = true,
                          .valid_zones = ZONE_NORMAL | ZONE_MOVABLE,
                          .default_zone = ZONE_NORMAL };
        (void)decide(m, VIEW_IN_READ, index, &f, type, rule, true, &d);
        /* Online=online is the kernel's choice, whatever it was. */
        if (d.action != ACTION_ONLINE || d.type == ONLINE_TYPE_ONLINE ||
            (d.zone == ZONE_MOVABLE) == (b->zone == ZONE_MOVABLE))
                return false;
        if (!ret)
                return true;
        *ret = d;
        n = (size_t)snprintf(ret->reason, sizeof(ret->reason), "online in %s, ", zone_to_string(b->zone));
        if (n < sizeof(ret->reason))
                snprintf(ret->reason + n, sizeof(ret->reason) - n, "%s", d.reason);
        return true;
}

static bool config_same(const PlacementView *v, const Config *c)
{
        return v->online == c->online && v->movable_ratio == c->movable_ratio &&
               v->numa_aware == c->numa_aware && v->n_node_policies == c->n_nodes &&
               (c->n_nodes == 0 || memcmp(v->node_policies, c->nodes, c->n_nodes * sizeof(NodePolicy)) == 0);
}

static int config_keep(PlacementView *v, const Config *c)
{
        NodePolicy *l = NULL;

        if (c->n_nodes > 0) {
                l = malloc(c->n_nodes * sizeof(NodePolicy));
                if (!l)
                        return -ENOMEM;
                memcpy(l, c->nodes, c->n_nodes * sizeof(NodePolicy));
        }
        free(v->node_policies);
        v->node_policies = l;
        v->n_node_policies = c->n_nodes;
        v->online = c->online;
        v->movable_ratio = c->movable_ratio;
        v->numa_aware = c->numa_aware;
        return 0;
}

/* Every block's drift, kept in the view. */
static int view_drift(Manager *m, Placement *p, PlacementView *v)
{
        uint64_t views;
        OnlineType type;
        const char *rule;
        int r;

        if (v->drift_made && config_same(v, m->config))
                return 0;
        /* What deciding the first of them would read again (the maps, memmap_on_memory), read
         * before the counts are used, so that all are worked out on the same counts. */
        for (size_t i = 0; i < v->n; i++)
                if (drift_candidate(m, v, (unsigned)i, &type, &rule) &&
                    wants_placement(m, m->blocks[i].node, type)) {
                        if (p->memmap_global < 0)
                                p->memmap_global = dax_memmap_global(m->sysfs);
                        (void)maps_refresh(m, p, (unsigned)i);
                }
        for (unsigned tries = 0;; tries++) {
                r = view_get(m, p, VIEW_IN_READ, &v);
                if (r < 0)
                        return r;
                views = p->stats.views;
                v->n_drift = 0;
                for (size_t i = 0; i < v->n; i++) {
                        v->drift[i] = drift_of(m, v, (unsigned)i, NULL);
                        v->n_drift += v->drift[i];
                }
                /* A map read again halfway (after a failed read) made the counts again. */
                if (p->stats.views == views || tries >= 2)
                        break;
        }
        r = config_keep(v, m->config);
        if (r < 0)
                return r;
        v->drift_made = true;
        return 0;
}

bool placement_view_drift(Manager *m, PlacementView *v, unsigned index, Decision *ret)
{
        assert(m);
        assert(v);
        assert(ret);

        if (view_drift(m, m->placement, v) >= 0 && !v->drift[index])
                return false;
        return drift_of(m, v, index, ret);
}

bool placement_block_drift(Manager *m, unsigned index, Decision *ret)
{
        Placement *p;
        PlacementView *v;

        assert(m);
        assert(ret);

        p = placement_get(m);

        /* Asked as a block is onlined (delegate's audit): the table changed, no copy is kept. */
        if (!p || view_get(m, p, VIEW_DECISION, &v) < 0)
                return false;
        if (v->drift_made && config_same(v, m->config) && !v->drift[index])
                return false;
        return drift_of(m, v, index, ret);
}

int placement_drift_count(Manager *m, unsigned *ret)
{
        PlacementView *v;
        int r;

        assert(m);
        assert(ret);

        r = placement_view(m, &v);
        if (r < 0)
                return r;
        r = view_drift(m, m->placement, v);
        if (r < 0)
                return r;
        *ret = v->n_drift;
        return 0;
}

void placement_stats(const Manager *m, PlacementStats *ret)
{
        assert(m);
        assert(ret);

        *ret = m->placement ? m->placement->stats : (PlacementStats){};
}

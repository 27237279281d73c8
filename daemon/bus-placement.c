/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-internal.h"
#include "headroom-facts.h"
#include "placement-facts.h"
#include "platform-facts.h"

/* NodePlacement: Online=auto-movable's accounting, one row per node and one for the system
 * (node -1), from the counts the next decision would start from (kept until the table changes). */

static int append_row(sd_bus_message *reply, const Manager *m, const PlacementFacts *f, int node,
                      const PlacementZones *z, uint64_t page)
{
        PlacementParams p;
        PlacementCheck c;
        unsigned ratio;

        policy_placement_params(m->config, node, &p);
        ratio = node < 0 ? p.ratio : p.node_ratio;
        placement_counted(f, node, ratio, &c);
        return sd_bus_message_append(reply, BUS_NODE_PLACEMENT, node, z->kernel_early * page,
                                     z->kernel * page, z->movable * page, z->movable_memmap * page,
                                     placement_headroom(f, &p, node) * page, ratio,
                                     node < 0 ? true : p.numa_aware, c.movable * page, c.kernel * page);
}

int bus_property_get_node_placement(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error)
{
        _cleanup_(freep) PlacementZones *nodes = NULL;
        _cleanup_(freep) PlacementGroup *groups = NULL;
        long page_size = sysconf(_SC_PAGESIZE);
        uint64_t page = page_size > 0 ? (uint64_t)page_size : 4096;
        Manager *m;
        PlacementFacts f;
        PlacementZones all;
        size_t n, n_groups;
        int r;

        assert(bus);
        assert(path);
        assert(interface);
        assert(property);
        assert(reply);
        assert(userdata);
        assert(error);

        m = userdata;

        r = placement_zones_read(m, &nodes, &n, &groups, &n_groups);
        if (r < 0)
                return r;
        f = (PlacementFacts){
                .nodes = nodes, .n_nodes = n, .groups = groups, .n_groups = n_groups, .page_size = page
        };
        placement_zones_sum(&f, &all);

        r = sd_bus_message_open_container(reply, 'a', BUS_NODE_PLACEMENT);
        if (r < 0)
                return r;
        r = append_row(reply, m, &f, -1, &all, page);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (nodes[i].kernel == 0 && nodes[i].movable == 0)
                        continue; /* a node with nothing online: no row */
                r = append_row(reply, m, &f, (int)i, &nodes[i], page);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* HotAddHeadroom: the largest hot-add that is safe now, per node and for the system, read from the
 * kernel when asked. Where the kernel does not tell (no /proc/zoneinfo), no rows: GetAll must not
 * fail for it. */
int bus_property_get_hotadd_headroom(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        _cleanup_(freep) Headroom *rows = NULL;
        size_t n = 0;
        int r;

        assert(bus);
        assert(path);
        assert(interface);
        assert(property);
        assert(reply);
        assert(userdata);
        assert(error);

        r = headroom_read(userdata, &rows, &n);
        if (r == -ENOMEM)
                return r;
        r = sd_bus_message_open_container(reply, 'a', BUS_HOTADD_HEADROOM);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char reason[HEADROOM_REASON_MAX];

                headroom_format(&rows[i], reason, sizeof(reason));
                r = sd_bus_message_append(reply, BUS_HOTADD_HEADROOM, rows[i].node, rows[i].free,
                                          rows[i].reserve, rows[i].struct_page, rows[i].page_size,
                                          rows[i].headroom, rows[i].movable, rows[i].memmap_on_memory,
                                          reason);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* PlatformDefault: what Online=platform means on this machine, and why; and what the placement
 * cannot see here (virtio-mem devices without /proc/iomem's addresses). */
int bus_property_get_platform_default(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        Manager *m;
        const Platform *p;
        char buf[400];

        assert(bus);
        assert(path);
        assert(interface);
        assert(property);
        assert(reply);
        assert(userdata);
        assert(error);

        m = userdata;
        p = m->platform;

        snprintf(buf, sizeof(buf), "%s: %s%s%s", online_type_to_string(p->online), p->reason,
                 p->virtio_mem_note[0] ? "; " : "", p->virtio_mem_note);
        return sd_bus_message_append(reply, "s", buf);
}

/* A Plan row for an online block the policy would put elsewhere; nothing for one in place. */
int bus_append_drift_row(Manager *m, PlacementView *v, sd_bus_message *reply, unsigned index)
{
        char note[64];
        Decision d;

        assert(m);
        assert(v);
        assert(reply);

        if (!placement_view_drift(m, v, index, &d))
                return 0;
        snprintf(note, sizeof(note), "drift: memhotplugctl rezone %u", index);
        return sd_bus_message_append(reply, BUS_ROW_PLAN, index, m->blocks[index].node, "rezone",
                                     online_type_to_string(d.type), zone_to_string(d.zone), d.rule, d.reason,
                                     note);
}

/* DriftBlocks: how many online blocks sit in a zone the policy would not choose now (worked out
 * once per change of what it depends on, not per call). */
int bus_property_get_drift_blocks(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m;
        unsigned n;
        int r;

        assert(bus);
        assert(path);
        assert(interface);
        assert(property);
        assert(reply);
        assert(userdata);
        assert(error);

        m = userdata;

        r = placement_drift_count(m, &n);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "u", (uint32_t)n);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dax.h"
#include "headroom-facts.h"
#include "kernel-info.h"
#include "placement-facts.h"
#include "zoneinfo.h"

static uint64_t present_pages(const Manager *m, uint64_t page_size)
{
        uint64_t n = 0;

        for (size_t i = 0; i < m->n_blocks; i++)
                if (block_known(&m->blocks[i]))
                        n++;
        return n * (m->block_size / page_size);
}

static uint64_t memmap_pages(const Manager *m)
{
        char path[PATH_MAX];
        uint64_t boot = 0, hot = 0;

        snprintf(path, sizeof(path), "%s/vmstat", m->options.proc_root);
        /* Linux 6.11+; older kernels tell neither, and the struct page size is assumed. */
        if (kernel_read_vmstat(path, "nr_memmap_boot_pages", &boot) < 0)
                return 0;
        (void)kernel_read_vmstat(path, "nr_memmap_pages", &hot);
        return boot + hot;
}

int headroom_read(Manager *m, Headroom **ret, size_t *ret_n)
{
        _cleanup_(freep) HeadroomZone *zones = NULL;
        _cleanup_(freep) PlacementZones *nodes = NULL;
        _cleanup_(freep) PlacementGroup *groups = NULL;
        _cleanup_(freep) Headroom *rows = NULL;
        long sc = sysconf(_SC_PAGESIZE);
        uint64_t page = sc > 0 ? (uint64_t)sc : 4096;
        char path[PATH_MAX];
        size_t n_zones, n_nodes, n_groups, n = 0;
        PlacementFacts pf;
        HeadroomFacts f;
        int r;

        assert(m);
        assert(ret);
        assert(ret_n);

        snprintf(path, sizeof(path), "%s/zoneinfo", m->options.proc_root);
        r = zoneinfo_read(path, &zones, &n_zones);
        if (r < 0)
                return r;
        r = placement_zones_read(m, &nodes, &n_nodes, &groups, &n_groups);
        if (r < 0)
                return r;
        pf = (PlacementFacts){
                .nodes = nodes, .n_nodes = n_nodes, .groups = groups, .n_groups = n_groups, .page_size = page
        };
        f = (HeadroomFacts){
                .zones = zones,
                .n_zones = n_zones,
                .page_size = page,
                .block_size = m->block_size,
                .memmap_pages = memmap_pages(m),
                .covered_pages = present_pages(m, page),
                .memmap_on_memory = dax_memmap_global(m->sysfs),
        };

        /* The system, and each node once: a node's zones come together in zoneinfo. */
        rows = calloc(n_zones + 1, sizeof(Headroom));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i <= n_zones; i++) {
                int node = i == 0 ? -1 : zones[i - 1].node;
                PlacementParams p;

                if (i > 0 && rows[n - 1].node == node)
                        continue;
                policy_placement_params(m->config, node, &p);
                headroom_compute(&f, node, placement_headroom(&pf, &p, node) * page, &rows[n++]);
        }
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

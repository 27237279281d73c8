/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Online=auto-movable's reads (DriftBlocks, Plan, NodePlacement) are open to every user and run in
 * the event loop: they must cost one pass over the block table per change, not one per block.
 * Before, every block's drift counted all blocks again (16384 blocks: 3.5 s of CPU a read).
 *
 * The daemon's own code runs over a block table filled here (the sysfs root is a temporary
 * directory with no blocks: nothing is read from the machine). What is counted is the work the
 * placement code reports (placement_stats()): blocks looked at to make the counts, and blocks
 * whose drift was worked out. No clock is involved. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "manager.h"
#include "placement-facts.h"
#include "sysfs-fixture.h"
#include "tap.h"

#define BURST 8

static Manager *manager;

/* n blocks on node 0: a quarter boot memory (online, kernel zone), half hot-added movable and a
 * quarter hot-added kernel memory, both in bursts of BURST blocks. With MovableRatio=301, movable
 * memory is twice the boot memory: each kernel burst would go movable now (it drifts), each
 * movable one stays. */
static Manager *table_new(unsigned n)
{
        Manager *m = NULL;

        if (fixture_new_manager(&m) < 0 || !manager_block(m, n - 1))
                abort();
        for (unsigned i = 0; i < n; i++) {
                Block *b = &m->blocks[i];

                *b = (Block){ .node = 0, .state = BLOCK_ONLINE, .life = BLOCK_LIFE_PRESENT };
                if (i < n / 4) {
                        b->zone = ZONE_NORMAL;
                        b->facts |= BLOCK_FACT_EARLY;
                } else {
                        b->zone = i < 3 * n / 4 ? ZONE_MOVABLE : ZONE_NORMAL;
                        b->burst = 1 + i / BURST;
                }
        }
        return m;
}

static unsigned drift_count(Manager *m)
{
        unsigned n = UINT32_MAX;

        if (placement_drift_count(m, &n) < 0)
                return UINT32_MAX;
        return n;
}

/* Counted blocks of one read at n blocks, after a change. */
static uint64_t cost_of_read(unsigned n, uint64_t *ret_checks)
{
        PlacementStats s;
        Manager *m = table_new(n);
        unsigned drift = drift_count(m);

        placement_stats(m, &s);
        tap_is_int(drift, n / 4, "%u blocks: the hot-added kernel blocks drift", n);
        manager_free(m);
        *ret_checks = s.drift_checks;
        return s.blocks_counted;
}

static void test_linear(void)
{
        uint64_t small, large, checks_small, checks_large;

        small = cost_of_read(256, &checks_small);
        large = cost_of_read(1024, &checks_large);
        tap_ok(small <= 2 * 256,
               "256 blocks: %" PRIu64 " blocks looked at to count them (at most 2 per block)", small);
        tap_ok(large <= 5 * small,
               "4 times the blocks, at most 5 times the counting: %" PRIu64 " against %" PRIu64, large,
               small);
        tap_ok(checks_small == 3 * 256 / 4 && checks_large == 3 * 1024 / 4,
               "each block that could drift is worked out once: %" PRIu64 ", %" PRIu64, checks_small,
               checks_large);
}

static void test_cached(void)
{
        PlacementZones *nodes = NULL;
        PlacementGroup *groups = NULL;
        PlacementView *v = NULL;
        PlacementStats a, b;
        size_t n_nodes = 0, n_groups = 0, rows = 0;
        unsigned n = 512;
        Decision d;

        manager = table_new(n);
        tap_is_int(drift_count(manager), n / 4, "DriftBlocks: the hot-added kernel blocks");
        placement_stats(manager, &a);
        tap_is_int(drift_count(manager), n / 4, "read again, the same");
        tap_ok(placement_zones_read(manager, &nodes, &n_nodes, &groups, &n_groups) >= 0 && n_nodes == 1 &&
                       nodes[0].kernel_early == (uint64_t)n / 4 * (128 << 20) / 4096 &&
                       nodes[0].movable == (uint64_t)n / 2 * (128 << 20) / 4096,
               "NodePlacement: boot and movable memory of node 0");
        free(nodes);
        free(groups);
        /* Plan: the drift rows, on the view got once. */
        tap_ok(placement_view(manager, &v) >= 0, "the view of a read");
        for (unsigned i = 0; v && i < n; i++)
                rows += placement_view_drift(manager, v, i, &d);
        tap_is_int(rows, n / 4, "Plan: a drift row per drifting block");
        placement_stats(manager, &b);
        tap_ok(b.views == a.views && b.blocks_counted == a.blocks_counted,
               "nothing changed: no read counted the blocks again (%" PRIu64 " views, %" PRIu64 " blocks)",
               b.views, b.blocks_counted);
        tap_ok(b.drift_checks == a.drift_checks + n / 4,
               "only the drifting blocks' rows were worked out again (%" PRIu64 " -> %" PRIu64 ")",
               a.drift_checks, b.drift_checks);

        /* A block of a drifting burst goes offline: counted again, once. */
        manager_block_set_state(manager, n - 1, BLOCK_OFFLINE, 0);
        tap_is_int(drift_count(manager), n / 4 - 1, "one offlined: one fewer drifts");
        tap_is_int(drift_count(manager), n / 4 - 1, "read again, the same");
        placement_stats(manager, &a);
        tap_is_int(a.views, b.views + 1, "the block table changed: counted once more");
        tap_is_int(a.blocks_counted, b.blocks_counted + n, "… one pass");

        /* Another MovableRatio: the counts stand, the drift is worked out again. */
        manager->config->movable_ratio = 100;
        tap_is_int(drift_count(manager), n / 2, "MovableRatio=100: the movable blocks drift instead");
        placement_stats(manager, &b);
        tap_ok(b.views == a.views && b.drift_checks > a.drift_checks,
               "config changed: drift worked out again on the same counts");
        manager->config->movable_ratio = 301;
        tap_is_int(drift_count(manager), n / 4 - 1, "MovableRatio=301 again");

        manager_free(manager);
}

/* Plan's dry run of queued blocks counts the rest of their group from the view: no pass per block.
 * The blocks of a burst queued movable: each would go movable again, its group's other blocks
 * counted as queued. */
static void test_plan_dry_run(void)
{
        unsigned n = 1024, queued = 0;
        PlacementView *v = NULL;
        PlacementStats a, b;
        BlockFacts f;
        Decision d;

        manager = table_new(n);
        for (unsigned i = n / 2; i < 3 * n / 4; i++) {
                Block *bl = &manager->blocks[i];

                bl->state = BLOCK_OFFLINE;
                bl->zone = 0;
                block_queued(bl);
                bl->planned_zone = ZONE_MOVABLE;
        }
        tap_ok(placement_view(manager, &v) >= 0, "the view of a read");
        placement_stats(manager, &a);
        for (unsigned i = 0; v && i < n; i++) {
                if (manager->blocks[i].state != BLOCK_OFFLINE)
                        continue;
                f = (BlockFacts){ .index = i,
                                  .node = 0,
                                  .state = BLOCK_OFFLINE,
                                  .have_valid_zones = true,
                                  .valid_zones = ZONE_NORMAL | ZONE_MOVABLE,
                                  .default_zone = ZONE_NORMAL };
                queued += placement_view_decide(manager, v, i, &f, &d) >= 0 && d.action == ACTION_ONLINE &&
                          d.zone == ZONE_MOVABLE;
        }
        placement_stats(manager, &b);
        tap_is_int(queued, n / 4, "every queued block would go movable again");
        /* The first decision reads the ACPI map (none here), which counts the blocks once more. */
        tap_ok(b.views <= a.views + 1 && b.blocks_counted <= a.blocks_counted + n,
               "%u dry runs, at most one more pass over the blocks (%" PRIu64 " -> %" PRIu64 ")", n / 4,
               a.blocks_counted, b.blocks_counted);
        manager_free(manager);
}

int main(void)
{
        log_set_max_level(LOG_WARNING);
        fixture_setup(false, "[Daemon]\nKernelAutoOnline=respect\n[Memory]\nOnline=auto-movable\n");
        test_linear();
        test_cached();
        test_plan_dry_run();
        fixture_cleanup();
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "macro.h"
#include "placement.h"
#include "policy.h"
#include "tap.h"

/* Online=auto-movable over a table of node layouts, groups, ratios and memmap placements. The
 * expected zones are worked out by hand from the kernel's rule (mm/memory_hotplug.c,
 * auto_movable_zone_for_pfn()): the pages left to online go movable while
 * movable <= ratio% of boot kernel memory, system-wide and, NUMA-aware, on their node. */

#define PAGE          4096ULL
#define M(x)          ((uint64_t)(x) * (1ULL << 20) / PAGE)
#define G(x)          ((uint64_t)(x) * (1ULL << 30) / PAGE)
#define BLOCK         M(128)
#define NONE          (-1)
#define MEMMAP(pages) ((pages) / 64) /* 64-byte struct page per 4 KiB page */

typedef struct Case {
        const char *name;
        PlacementZones nodes[2];
        PlacementGroup groups[2];
        unsigned ratio, node_ratio;
        bool numa_aware;
        int node;
        int group; /* index into groups, or NONE */
        uint64_t nr_pages, memmap_pages, unit_online_pages;
        bool unit_has_kernel;
        bool movable;
        const char *reason; /* the whole reason, where given */
} Case;

/* What the first blocks of dimm6 were queued with, for the rest to follow. */
static const PlacementResult dimm6_queued = {
        .basis = PLACEMENT_CHECKED,
        .group = "dimm6",
        .grouped = true,
        .pages = G(2),
        .page_size = PAGE,
        .checks = { { .node = NONE, .ratio = 301, .movable = G(5), .kernel = G(1) } },
        .n_checks = 1,
};

static const Case cases[] = {
        { .name = "a DIMM far below the ratio goes movable",
          .nodes = { { .kernel_early = G(4), .kernel = G(4) } },
          .groups = { { .name = "dimm1", .node = 0, .max_pages = G(2) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true,
          .reason = "group dimm1 (2G): system: movable 2G / kernel 4G = 50% <= 301%, "
                    "node 0: movable 2G / kernel 4G = 50% <= 301% -> Movable" },
        { .name = "the last group that fits: 12G / 4G = 300% <= 301%",
          .nodes = { { .kernel_early = G(4), .kernel = G(4), .movable = G(10) } },
          .groups = { { .name = "dimm6", .node = 0, .max_pages = G(2) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "one more block crosses the ratio: 12.125G / 4G = 303% > 301%",
          .nodes = { { .kernel_early = G(4), .kernel = G(4), .movable = G(10) } },
          .groups = { { .name = "dimm6", .node = 0, .max_pages = G(2) + BLOCK } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false,
          .reason = "group dimm6 (2.1G): system: movable 12.1G / kernel 4G = 303.1% > 301% -> kernel zone" },
        { .name = "exactly at the limit in pages: 301 of 100 is allowed",
          .nodes = { { .kernel_early = 100, .movable = 200 } },
          .groups = { { .name = "g", .node = 0, .max_pages = 101 } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = false,
          .node = 0,
          .group = 0,
          .nr_pages = 1,
          .movable = true },
        { .name = "one page past the limit is not",
          .nodes = { { .kernel_early = 100, .movable = 200 } },
          .groups = { { .name = "g", .node = 0, .max_pages = 102 } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = false,
          .node = 0,
          .group = 0,
          .nr_pages = 1,
          .movable = false },
        { .name = "the whole static group counts, not the block asked about",
          .nodes = { { .kernel_early = G(1) } },
          .groups = { { .name = "dimm2", .node = 0, .max_pages = G(4) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false },
        { .name = "NUMA-aware: a node with no boot kernel memory takes nothing movable",
          .nodes = { { .kernel_early = G(4), .kernel = G(4) }, {} },
          .groups = { { .name = "dimm3", .node = 1, .max_pages = G(2) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 1,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false,
          .reason = "group dimm3 (2G): system: movable 2G / kernel 4G = 50% <= 301%, "
                    "node 1: movable 2G / kernel 0B = inf > 301% -> kernel zone" },
        { .name = "not NUMA-aware: the same group goes movable on the system's ratio",
          .nodes = { { .kernel_early = G(4), .kernel = G(4) }, {} },
          .groups = { { .name = "dimm3", .node = 1, .max_pages = G(2) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = false,
          .node = 1,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "NUMA-aware: the node is over its ratio though the system is not",
          .nodes = { { .kernel_early = G(4), .kernel = G(4) },
                     { .kernel_early = G(1), .kernel = G(1), .movable = G(2) } },
          .groups = { { .name = "dimm4", .node = 1, .max_pages = G(2) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 1,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false },
        { .name = "a node's own MovableRatio= lets it take more",
          .nodes = { { .kernel_early = G(4), .kernel = G(4) },
                     { .kernel_early = G(1), .kernel = G(1), .movable = G(2) } },
          .groups = { { .name = "dimm4", .node = 1, .max_pages = G(2) } },
          .ratio = 301,
          .node_ratio = 400,
          .numa_aware = true,
          .node = 1,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "a group with memory in a kernel zone keeps the rest there",
          .nodes = { { .kernel_early = G(64), .kernel = G(65) } },
          .groups = { { .name = "dimm5", .node = 0, .max_pages = G(2), .present_kernel = G(1) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false,
          .reason = "group dimm5 has memory in a kernel zone -> kernel zone" },
        { .name = "the rest of a group queued for the kernel zone gives the reason it was queued with",
          .nodes = { { .kernel_early = G(1), .kernel = G(3), .movable = G(3) } },
          .groups = { { .name = "dimm6",
                        .node = 0,
                        .max_pages = G(2),
                        .present_kernel = G(1),
                        .decided = &dimm6_queued } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false,
          .reason = "group dimm6 (2G): system: movable 5G / kernel 1G = 500% > 301% -> kernel zone" },
        { .name = "a half-online movable group counts only what is left",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = G(2) } },
          .groups = { { .name = "dimm7", .node = 0, .max_pages = G(2), .present_movable = G(1) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "memmap in system RAM: 2112M on top of 10G / 4G is over",
          .nodes = { { .kernel_early = G(4), .kernel = G(4), .movable = G(10) } },
          .groups = { { .name = "dax0.0", .node = 0, .max_pages = M(2112) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false },
        { .name = "memmap on the device: the same 2112M fits, its 33M of struct pages not counted",
          .nodes = { { .kernel_early = G(4), .kernel = G(4), .movable = G(10) } },
          .groups = { { .name = "dax0.0",
                        .node = 0,
                        .max_pages = M(2112),
                        .memmap_pages = MEMMAP(M(2112)) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = false,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true,
          .reason = "group dax0.0 (2.1G, its memmap 33M on the device not counted): "
                    "system: movable 12G / kernel 4G = 300.7% <= 301% -> Movable" },
        { .name = "memmap already on movable memory is left out of the movable count",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = G(3), .movable_memmap = M(48) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = NONE,
          .nr_pages = M(32),
          .movable = true },
        { .name = "without that memmap the same block would not fit",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = G(3) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = NONE,
          .nr_pages = M(32),
          .movable = false },
        { .name = "a block of no group is decided alone",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = G(3) } },
          .ratio = 400,
          .node_ratio = 400,
          .numa_aware = true,
          .node = 0,
          .group = NONE,
          .nr_pages = BLOCK,
          .movable = true,
          .reason = "block of no group (128M): system: movable 3.1G / kernel 1G = 312.5% <= 400%, "
                    "node 0: movable 3.1G / kernel 1G = 312.5% <= 400% -> Movable" },
        { .name = "another virtio-mem device's movable memory takes its share of kernel memory first",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = G(3) } },
          .groups = { { .name = "virtio-mem0",
                        .node = 0,
                        .dynamic = true,
                        .max_pages = BLOCK,
                        .present_movable = G(3) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = false,
          .node = 0,
          .group = NONE,
          .nr_pages = BLOCK,
          .movable = false },
        { .name = "unless its own kernel memory backs it",
          .nodes = { { .kernel_early = G(1), .kernel = G(2), .movable = G(3) } },
          .groups = { { .name = "virtio-mem0",
                        .node = 0,
                        .dynamic = true,
                        .max_pages = BLOCK,
                        .present_movable = G(3),
                        .present_kernel = G(1) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = false,
          .node = 0,
          .group = NONE,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "a virtio-mem device's own kernel memory lets it add movable memory",
          .nodes = { { .kernel_early = M(128), .kernel = M(640) } },
          .groups = { { .name = "virtio-mem0",
                        .node = 0,
                        .dynamic = true,
                        .max_pages = BLOCK,
                        .present_kernel = M(512) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "a virtio-mem unit with kernel memory keeps the rest of the unit there",
          .nodes = { { .kernel_early = G(8), .kernel = G(8) } },
          .groups = { { .name = "virtio-mem0", .node = 0, .dynamic = true, .max_pages = G(1) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .unit_online_pages = BLOCK,
          .unit_has_kernel = true,
          .movable = false },
        /* A hot-add burst that no device groups (probe, Hyper-V, Xen) is a static group in the
         * daemon; the kernel decides its blocks one at a time. */
        { .name = "a hot-add burst goes whole: its first block alone would fit, the burst does not",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = M(2560) } },
          .groups = { { .name = "hot-add memory40-47", .node = 0, .max_pages = G(1) } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = false,
          .reason =
                  "group hot-add memory40-47 (1G): system: movable 3.5G / kernel 1G = 350% > 301% -> kernel "
                  "zone" },
        { .name = "the rest of a burst whose first block went movable fits as the first did",
          .nodes = { { .kernel_early = G(1), .kernel = G(1), .movable = G(2) + BLOCK } },
          .groups = { { .name = "hot-add memory40-47",
                        .node = 0,
                        .max_pages = G(1),
                        .present_movable = BLOCK } },
          .ratio = 301,
          .node_ratio = 301,
          .numa_aware = true,
          .node = 0,
          .group = 0,
          .nr_pages = BLOCK,
          .movable = true },
        { .name = "MovableRatio=0 never goes movable",
          .nodes = { { .kernel_early = G(64), .kernel = G(64) } },
          .ratio = 0,
          .node_ratio = 0,
          .numa_aware = true,
          .node = 0,
          .group = NONE,
          .nr_pages = BLOCK,
          .movable = false,
          .reason = "block of no group (128M): MovableRatio=0 -> kernel zone" },
};

static void test_table(void)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                PlacementFacts f = { .nodes = c->nodes,
                                     .n_nodes = ELEMENTSOF(c->nodes),
                                     .groups = c->groups,
                                     .n_groups = ELEMENTSOF(c->groups),
                                     .page_size = PAGE };
                PlacementParams p = { .ratio = c->ratio,
                                      .node_ratio = c->node_ratio,
                                      .numa_aware = c->numa_aware };
                PlacementRequest q = { .node = c->node,
                                       .group = c->group == NONE ? NULL : &c->groups[c->group],
                                       .nr_pages = c->nr_pages,
                                       .memmap_pages = c->memmap_pages,
                                       .unit_online_pages = c->unit_online_pages,
                                       .unit_has_kernel = c->unit_has_kernel };
                char reason[PLACEMENT_REASON_MAX];
                PlacementResult r;

                placement_decide(&f, &p, &q, &r);
                placement_result_format(&r, reason, sizeof(reason));
                if (!tap_ok(r.movable == c->movable, "%s: %s", c->name,
                            c->movable ? "Movable" : "kernel zone"))
                        printf("#   reason: %s\n", reason);
                if (c->reason)
                        tap_is_str(reason, c->reason, "%s: the reason shows the arithmetic", c->name);
        }
}

static void test_headroom(void)
{
        PlacementZones nodes[2] = { { .kernel_early = G(4), .movable = G(10) },
                                    { .kernel_early = G(1), .movable = G(1) } };
        PlacementFacts f = { .nodes = nodes, .n_nodes = 2, .page_size = PAGE };
        PlacementParams p = { .ratio = 301, .node_ratio = 301, .numa_aware = true };

        /* System: 301% of 5G = 15.05G, 11G used. Node 1: 301% of 1G = 3.01G, 1G used. */
        tap_is_int(placement_headroom(&f, &p, -1), 301 * G(5) / 100 - G(11), "headroom system-wide");
        tap_is_int(placement_headroom(&f, &p, 1), 301 * G(1) / 100 - G(1), "headroom on node 1");
        /* Node 0: 301% of 4G = 12.04G, 10G used: more than the system's 4.05G? No: less. */
        tap_is_int(placement_headroom(&f, &p, 0), 301 * G(4) / 100 - G(10), "headroom on node 0");
        p.numa_aware = false;
        tap_is_int(placement_headroom(&f, &p, 1), 301 * G(5) / 100 - G(11), "not NUMA-aware: the system's");
        nodes[0].movable = G(20);
        tap_is_int(placement_headroom(&f, &p, -1), 0, "none left once over the ratio");
}

/* Through the policy: Online=auto-movable resolved to a zone, checked against valid_zones. */
static void test_policy(void)
{
        PlacementZones nodes[1] = { { .kernel_early = G(1), .kernel = G(1) } };
        PlacementFacts f = { .nodes = nodes, .n_nodes = 1, .page_size = PAGE };
        PlacementInput in = { .facts = &f, .request = { .node = 0, .nr_pages = BLOCK } };
        BlockFacts b = { .node = 0,
                         .state = BLOCK_OFFLINE,
                         .have_valid_zones = true,
                         .valid_zones = ZONE_NORMAL | ZONE_MOVABLE,
                         .default_zone = ZONE_NORMAL };
        Config c;
        Decision d;

        config_init_defaults(&c);
        c.online = ONLINE_TYPE_AUTO_MOVABLE;

        policy_decide(&c, &b, &in, &d);
        tap_ok(d.action == ACTION_ONLINE && d.type == ONLINE_TYPE_MOVABLE && d.zone == ZONE_MOVABLE,
               "auto-movable with room: online_movable");
        tap_ok(strstr(d.reason, "[Memory] Online=auto-movable: block of no group (128M)") == d.reason,
               "the reason names the rule and the group: %s", d.reason);

        nodes[0].movable = G(3);
        policy_decide(&c, &b, &in, &d);
        tap_ok(d.action == ACTION_ONLINE && d.type == ONLINE_TYPE_KERNEL && d.zone == ZONE_NORMAL,
               "auto-movable over the ratio: online_kernel");

        c.movable_ratio = 400;
        policy_decide(&c, &b, &in, &d);
        tap_ok(d.type == ONLINE_TYPE_MOVABLE, "MovableRatio= from the config is used");

        b.valid_zones = ZONE_NORMAL;
        policy_decide(&c, &b, &in, &d);
        tap_ok(d.action == ACTION_SKIP && strstr(d.reason, "-> Movable, but valid_zones is \"Normal\""),
               "a zone valid_zones lacks is refused with the arithmetic kept: %s", d.reason);

        policy_decide(&c, &b, NULL, &d);
        tap_ok(d.action == ACTION_SKIP, "without zone statistics the block stays offline");
        dax_rule_done(&c.dax);
}

/* The decision carries what decided as facts: the daemon asks them, and Plan makes the same text
 * again from the facts it kept. */
static void test_decision_facts(void)
{
        PlacementZones nodes[1] = { { .kernel_early = G(4), .kernel = G(4) } };
        PlacementGroup group = { .name = "dimm1", .node = 0, .max_pages = G(2) };
        PlacementFacts f = { .nodes = nodes, .n_nodes = 1, .page_size = PAGE };
        PlacementInput in = { .facts = &f, .request = { .node = 0, .group = &group, .nr_pages = BLOCK } };
        BlockFacts b = { .node = 0,
                         .state = BLOCK_OFFLINE,
                         .have_valid_zones = true,
                         .valid_zones = ZONE_NORMAL | ZONE_MOVABLE,
                         .default_zone = ZONE_NORMAL };
        Decision d, next, again;
        Config c;

        config_init_defaults(&c);
        c.online = ONLINE_TYPE_AUTO_MOVABLE;
        policy_decide(&c, &b, &in, &d);
        tap_ok(d.basis == DECISION_AUTO_MOVABLE && d.placement.basis == PLACEMENT_CHECKED &&
                       d.placement.movable && d.placement.grouped && streq(d.placement.group, "dimm1") &&
                       d.placement.pages == G(2) && d.placement.n_checks == 2 &&
                       d.placement.checks[0].node == -1 && d.placement.checks[0].movable == G(2) &&
                       d.placement.checks[0].kernel == G(4) && d.placement.checks[0].ratio == 301 &&
                       d.placement.checks[1].node == 0,
               "auto-movable: the decision carries the group and the arithmetic");

        /* The group's next block: one block of it counted movable, one block less to online. */
        nodes[0].movable = BLOCK;
        group.present_movable = BLOCK;
        policy_decide(&c, &b, &in, &next);
        tap_ok(!streq(next.reason, d.reason) && placement_result_same_group(&d.placement, &next.placement) &&
                       !placement_result_equal(&d.placement, &next.placement),
               "the group's next block repeats its arithmetic, but for the size left: %s", next.reason);
        nodes[0].kernel_early = G(8);
        policy_decide(&c, &b, &in, &next);
        tap_ok(!placement_result_same_group(&d.placement, &next.placement),
               "other counts are another arithmetic: %s", next.reason);

        /* What Plan keeps of a queued decision makes the same text. */
        again = (Decision){ .action = d.action,
                            .type = d.type,
                            .zone = d.zone,
                            .basis = d.basis,
                            .asked = d.asked,
                            .have_valid_zones = d.have_valid_zones,
                            .placement = d.placement };
        snprintf(again.rule, sizeof(again.rule), "%s", d.rule);
        decision_format_reason(&again);
        tap_is_str(again.reason, d.reason, "the reason is made again from the kept facts");

        /* A rule is not auto-movable for its name: only its Online= says. */
        policy_decide_as(&c, &b, ONLINE_TYPE_MOVABLE, "[Dax auto-movable]", &in, &d);
        tap_ok(d.action == ACTION_ONLINE && d.basis == DECISION_RULE && d.asked == ONLINE_TYPE_MOVABLE,
               "Online=movable under a rule named auto-movable: %s", d.reason);
        tap_is_str(d.reason, "[Dax auto-movable] Online=movable", "its reason");

        b.have_valid_zones = false;
        policy_decide_as(&c, &b, ONLINE_TYPE_KERNEL, "[Node 1]", &in, &d);
        tap_is_str(d.reason, "[Node 1] Online=kernel (kernel shows no valid_zones)",
                   "without valid_zones the rule's type is said so");
        b.have_valid_zones = true;
        b.valid_zones = ZONE_MOVABLE;
        b.default_zone = ZONE_MOVABLE;
        policy_decide_as(&c, &b, ONLINE_TYPE_KERNEL, "[Node 1]", &in, &d);
        tap_ok(d.action == ACTION_SKIP && d.basis == DECISION_RULE, "a zone valid_zones lacks: skipped");
        tap_is_str(d.reason, "[Node 1] Online=kernel, but valid_zones is \"Movable\"",
                   "its reason names valid_zones");
        dax_rule_done(&c.dax);
}

int main(void)
{
        test_table();
        test_headroom();
        test_policy();
        test_decision_facts();
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "policy.h"
#include "tap.h"

/* The decision engine over a table of block facts and policies. */

static const NodePolicy nodes[] = {
        { .node = 1, .online = ONLINE_TYPE_KERNEL },
        { .node = 2, .online = ONLINE_TYPE_OFFLINE },
        { .node = 3, .online = ONLINE_TYPE_ONLINE },
};

#define NM (ZONE_NORMAL | ZONE_MOVABLE)

static const struct {
        const char *name;
        OnlineType memory; /* [Memory] Online= */
        BlockFacts facts;
        Action action;
        OnlineType type;
        Zone zone;
        const char *rule;
        const char *reason;
} cases[] = {
        { "offline block, movable policy",
          ONLINE_TYPE_MOVABLE,
          { .node = 0,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_NORMAL },
          ACTION_ONLINE,
          ONLINE_TYPE_MOVABLE,
          ZONE_MOVABLE,
          "[Memory]",
          "[Memory] Online=movable" },
        { "node override to kernel",
          ONLINE_TYPE_MOVABLE,
          { .node = 1,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_NORMAL },
          ACTION_ONLINE,
          ONLINE_TYPE_KERNEL,
          ZONE_NORMAL,
          "[Node 1]",
          "[Node 1] Online=kernel" },
        { "node override to offline",
          ONLINE_TYPE_MOVABLE,
          { .node = 2,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_NORMAL },
          ACTION_OFFLINE,
          0,
          0,
          "[Node 2]",
          "[Node 2] Online=offline" },
        { "plain online takes the kernel's default zone",
          ONLINE_TYPE_MOVABLE,
          { .node = 3,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_MOVABLE },
          ACTION_ONLINE,
          ONLINE_TYPE_ONLINE,
          ZONE_MOVABLE,
          "[Node 3]",
          "[Node 3] Online=online" },
        { "node without a section follows [Memory]",
          ONLINE_TYPE_KERNEL,
          { .node = 7,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_NORMAL },
          ACTION_ONLINE,
          ONLINE_TYPE_KERNEL,
          ZONE_NORMAL,
          "[Memory]",
          "[Memory] Online=kernel" },
        { "unknown node follows [Memory]",
          ONLINE_TYPE_MOVABLE,
          { .node = -1,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_NORMAL },
          ACTION_ONLINE,
          ONLINE_TYPE_MOVABLE,
          ZONE_MOVABLE,
          "[Memory]",
          "[Memory] Online=movable" },
        { "already online: nothing to do",
          ONLINE_TYPE_MOVABLE,
          { .node = 0,
            .state = BLOCK_ONLINE,
            .have_valid_zones = true,
            .valid_zones = ZONE_NORMAL,
            .default_zone = ZONE_NORMAL },
          ACTION_NONE,
          0,
          0,
          "[Memory]",
          "already online" },
        { "going offline: stay out of the way",
          ONLINE_TYPE_MOVABLE,
          { .node = 0,
            .state = BLOCK_GOING_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = NM,
            .default_zone = ZONE_NORMAL },
          ACTION_NONE,
          0,
          0,
          "[Memory]",
          "going offline" },
        { "movable impossible: skipped, not forced",
          ONLINE_TYPE_MOVABLE,
          { .node = 0,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = ZONE_NORMAL,
            .default_zone = ZONE_NORMAL },
          ACTION_SKIP,
          0,
          0,
          "[Memory]",
          "[Memory] Online=movable, but valid_zones is \"Normal\"" },
        { "kernel impossible: skipped",
          ONLINE_TYPE_MOVABLE,
          { .node = 1,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = ZONE_MOVABLE,
            .default_zone = ZONE_MOVABLE },
          ACTION_SKIP,
          0,
          0,
          "[Node 1]",
          "[Node 1] Online=kernel, but valid_zones is \"Movable\"" },
        { "kernel picks the highest kernel zone",
          ONLINE_TYPE_KERNEL,
          { .node = 0,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = ZONE_DMA32 | ZONE_MOVABLE,
            .default_zone = ZONE_MOVABLE },
          ACTION_ONLINE,
          ONLINE_TYPE_KERNEL,
          ZONE_DMA32,
          "[Memory]",
          "[Memory] Online=kernel" },
        { "valid_zones none: nothing can be onlined",
          ONLINE_TYPE_ONLINE,
          { .node = 0,
            .state = BLOCK_OFFLINE,
            .have_valid_zones = true,
            .valid_zones = 0,
            .default_zone = 0 },
          ACTION_SKIP,
          0,
          0,
          "[Memory]",
          "[Memory] Online=online, but valid_zones is \"none\"" },
        { "no valid_zones attribute: let the kernel judge",
          ONLINE_TYPE_MOVABLE,
          { .node = 0, .state = BLOCK_OFFLINE, .have_valid_zones = false },
          ACTION_ONLINE,
          ONLINE_TYPE_MOVABLE,
          0,
          "[Memory]",
          "[Memory] Online=movable (kernel shows no valid_zones)" },
        { "policy offline wins over impossible zones",
          ONLINE_TYPE_OFFLINE,
          { .node = 0, .state = BLOCK_OFFLINE, .have_valid_zones = true, .valid_zones = 0 },
          ACTION_OFFLINE,
          0,
          0,
          "[Memory]",
          "[Memory] Online=offline" },
};

int main(void)
{
        Config c;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                Decision d;

                config_init_defaults(&c);
                c.online = cases[i].memory;
                c.nodes = (NodePolicy *)nodes;
                c.n_nodes = sizeof(nodes) / sizeof(nodes[0]);
                policy_decide(&c, &cases[i].facts, NULL, &d);

                tap_is_str(action_to_string(d.action), action_to_string(cases[i].action), "%s: action",
                           cases[i].name);
                if (cases[i].action == ACTION_ONLINE) {
                        tap_is_str(online_type_to_string(d.type), online_type_to_string(cases[i].type),
                                   "%s: online type", cases[i].name);
                        tap_is_int(d.zone, cases[i].zone, "%s: zone", cases[i].name);
                }
                tap_is_str(d.rule, cases[i].rule, "%s: rule", cases[i].name);
                tap_is_str(d.reason, cases[i].reason, "%s: reason", cases[i].name);
        }
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "string-table.h"

static const char *const action_table[_ACTION_MAX] = {
        [ACTION_NONE] = "none",
        [ACTION_ONLINE] = "online",
        [ACTION_OFFLINE] = "offline",
        [ACTION_SKIP] = "skip",
};

DEFINE_STRING_TABLE_TO_STRING(action, Action);

static void zones_format(unsigned mask, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (Zone z = ZONE_DMA; z <= ZONE_DEVICE; z <<= 1)
                if (mask & z)
                        n += snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? " " : "",
                                      zone_to_string(z));
        if (n == 0)
                snprintf(buf, size, "none");
}

void policy_placement_params(const Config *c, int node, PlacementParams *ret)
{
        const NodePolicy *np = node >= 0 ? config_find_node(c, (unsigned)node) : NULL;

        *ret = (PlacementParams){
                .ratio = c->movable_ratio,
                .node_ratio = np ? np->movable_ratio : c->movable_ratio,
                .numa_aware = np ? np->numa_aware > 0 : c->numa_aware,
        };
}

/* Online=auto-movable: movable or kernel, by the ratio. Returns false (and says why in ret) when
 * it cannot be decided. */
static bool resolve_auto_movable(const Config *c, const BlockFacts *f, const PlacementInput *in,
                                 OnlineType *type, Decision *ret)
{
        PlacementParams params;
        PlacementResult res;

        if (!in || !in->facts) {
                ret->action = ACTION_SKIP;
                snprintf(ret->reason, sizeof(ret->reason), "%s Online=auto-movable, but no zone statistics",
                         ret->rule);
                return false;
        }
        policy_placement_params(c, f->node, &params);
        placement_decide(in->facts, &params, &in->request, &res);
        *type = res.movable ? ONLINE_TYPE_MOVABLE : ONLINE_TYPE_KERNEL;
        snprintf(ret->reason, sizeof(ret->reason), "%s" AUTO_MOVABLE_REASON "%s", ret->rule, res.reason);
        return true;
}

void policy_decide(const Config *c, const BlockFacts *f, const PlacementInput *in, Decision *ret)
{
        const NodePolicy *np = NULL;
        char rule[32];

        if (f->node >= 0)
                np = config_find_node(c, (unsigned)f->node);
        if (np)
                snprintf(rule, sizeof(rule), "[Node %u]", np->node);
        else
                snprintf(rule, sizeof(rule), "[Memory]");
        policy_decide_as(c, f, np ? np->online : c->online, rule, in, ret);
}

void policy_decide_as(const Config *c, const BlockFacts *f, OnlineType type, const char *rule,
                      const PlacementInput *in, Decision *ret)
{
        bool placed = false;
        char zones[64];

        *ret = (Decision){ .action = ACTION_NONE };
        snprintf(ret->rule, sizeof(ret->rule), "%s", rule);

        if (f->state == BLOCK_ONLINE) {
                snprintf(ret->reason, sizeof(ret->reason), "already online");
                return;
        }
        if (f->state == BLOCK_GOING_OFFLINE) {
                /* Somebody is offlining it right now, most likely to unplug it: stay out of the way. */
                snprintf(ret->reason, sizeof(ret->reason), "going offline");
                return;
        }

        if (type == ONLINE_TYPE_OFFLINE) {
                ret->action = ACTION_OFFLINE;
                snprintf(ret->reason, sizeof(ret->reason), "%s Online=offline", ret->rule);
                return;
        }

        if (type == ONLINE_TYPE_PLATFORM) {
                /* The daemon resolves it at load; only a caller that did not gets here. */
                ret->action = ACTION_SKIP;
                snprintf(ret->reason, sizeof(ret->reason), "%s Online=platform, not resolved", ret->rule);
                return;
        }
        if (type == ONLINE_TYPE_AUTO_MOVABLE) {
                if (!resolve_auto_movable(c, f, in, &type, ret))
                        return;
                placed = true;
        }

        if (!f->have_valid_zones) {
                /* Without valid_zones the kernel will still refuse what it cannot do; let it. */
                ret->action = ACTION_ONLINE;
                ret->type = type;
                if (!placed)
                        snprintf(ret->reason, sizeof(ret->reason),
                                 "%s Online=%s (kernel shows no valid_zones)", ret->rule,
                                 online_type_to_string(type));
                return;
        }

        zones_format(f->valid_zones, zones, sizeof(zones));
        ret->zone = zone_for_online_type(type, f->valid_zones, f->default_zone);
        if (ret->zone == 0) {
                size_t n = placed ? strlen(ret->reason) : 0;

                ret->action = ACTION_SKIP;
                if (placed)
                        snprintf(ret->reason + n, sizeof(ret->reason) - n, ", but valid_zones is \"%s\"",
                                 zones);
                else
                        snprintf(ret->reason, sizeof(ret->reason), "%s Online=%s, but valid_zones is \"%s\"",
                                 ret->rule, online_type_to_string(type), zones);
                return;
        }

        ret->action = ACTION_ONLINE;
        ret->type = type;
        if (!placed)
                snprintf(ret->reason, sizeof(ret->reason), "%s Online=%s", ret->rule,
                         online_type_to_string(type));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
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
        const NodePolicy *np;

        assert(c);
        assert(ret);

        np = node >= 0 ? config_find_node(c, (unsigned)node) : NULL;
        *ret = (PlacementParams){
                .ratio = c->movable_ratio,
                .node_ratio = np ? np->movable_ratio : c->movable_ratio,
                .numa_aware = np ? np->numa_aware > 0 : c->numa_aware,
        };
}

void decision_format_reason(Decision *d)
{
        char arithmetic[PLACEMENT_REASON_MAX], zones[64];
        size_t n;

        assert(d);

        switch (d->basis) {
        case DECISION_ALREADY_ONLINE:
                snprintf(d->reason, sizeof(d->reason), "already online");
                return;
        case DECISION_GOING_OFFLINE:
                snprintf(d->reason, sizeof(d->reason), "going offline");
                return;
        case DECISION_PLATFORM_UNRESOLVED:
                snprintf(d->reason, sizeof(d->reason), "%s Online=platform, not resolved", d->rule);
                return;
        case DECISION_AUTO_MOVABLE_NO_COUNTS:
                snprintf(d->reason, sizeof(d->reason), "%s Online=auto-movable, but no zone statistics",
                         d->rule);
                return;
        case DECISION_AUTO_MOVABLE:
                placement_result_format(&d->placement, arithmetic, sizeof(arithmetic));
                snprintf(d->reason, sizeof(d->reason), "%s Online=auto-movable: %s", d->rule, arithmetic);
                break;
        case DECISION_RULE:
                if (d->action == ACTION_ONLINE && !d->have_valid_zones) {
                        /* Said only of the rule's own type: the arithmetic says enough. */
                        snprintf(d->reason, sizeof(d->reason), "%s Online=%s (kernel shows no valid_zones)",
                                 d->rule, online_type_to_string(d->asked));
                        return;
                }
                snprintf(d->reason, sizeof(d->reason), "%s Online=%s", d->rule,
                         online_type_to_string(d->asked));
                break;
        }
        if (d->action != ACTION_SKIP)
                return;
        zones_format(d->valid_zones, zones, sizeof(zones));
        n = strlen(d->reason);
        snprintf(d->reason + n, sizeof(d->reason) - n, ", but valid_zones is \"%s\"", zones);
}

void policy_decide(const Config *c, const BlockFacts *f, const PlacementInput *in, Decision *ret)
{
        const NodePolicy *np = NULL;
        char rule[32];

        assert(c);
        assert(f);
        assert(ret);

        if (f->node >= 0)
                np = config_find_node(c, (unsigned)f->node);
        if (np)
                snprintf(rule, sizeof(rule), "[Node %u]", np->node);
        else
                snprintf(rule, sizeof(rule), "[Memory]");
        policy_decide_as(c, f, np ? np->online : c->online, rule, in, ret);
}

/* The facts of the decision; the reason is made of them after. */
static void decide(const Config *c, const BlockFacts *f, OnlineType type, const PlacementInput *in,
                   Decision *ret)
{
        PlacementParams params;

        if (f->state == BLOCK_ONLINE) {
                ret->basis = DECISION_ALREADY_ONLINE;
                return;
        }
        if (f->state == BLOCK_GOING_OFFLINE) {
                /* Somebody is offlining it right now, most likely to unplug it: stay out of the way. */
                ret->basis = DECISION_GOING_OFFLINE;
                return;
        }

        if (type == ONLINE_TYPE_OFFLINE) {
                ret->action = ACTION_OFFLINE;
                return;
        }
        if (type == ONLINE_TYPE_PLATFORM) {
                /* The daemon resolves it at load; only a caller that did not gets here. */
                ret->action = ACTION_SKIP;
                ret->basis = DECISION_PLATFORM_UNRESOLVED;
                return;
        }
        if (type == ONLINE_TYPE_AUTO_MOVABLE) {
                /* Movable or kernel, by the ratio; undecidable without the zone counts. */
                if (!in || !in->facts) {
                        ret->action = ACTION_SKIP;
                        ret->basis = DECISION_AUTO_MOVABLE_NO_COUNTS;
                        return;
                }
                policy_placement_params(c, f->node, &params);
                placement_decide(in->facts, &params, &in->request, &ret->placement);
                ret->basis = DECISION_AUTO_MOVABLE;
                type = ret->placement.movable ? ONLINE_TYPE_MOVABLE : ONLINE_TYPE_KERNEL;
        }

        ret->have_valid_zones = f->have_valid_zones;
        if (!f->have_valid_zones) {
                /* Without valid_zones the kernel will still refuse what it cannot do; let it. */
                ret->action = ACTION_ONLINE;
                ret->type = type;
                return;
        }
        ret->zone = zone_for_online_type(type, f->valid_zones, f->default_zone);
        if (ret->zone == 0) {
                ret->action = ACTION_SKIP;
                ret->valid_zones = f->valid_zones;
                return;
        }
        ret->action = ACTION_ONLINE;
        ret->type = type;
}

void policy_decide_as(const Config *c, const BlockFacts *f, OnlineType type, const char *rule,
                      const PlacementInput *in, Decision *ret)
{
        assert(c);
        assert(f);
        assert(rule);
        assert(ret);

        *ret = (Decision){ .action = ACTION_NONE, .basis = DECISION_RULE, .asked = type };
        snprintf(ret->rule, sizeof(ret->rule), "%s", rule);
        decide(c, f, type, in, ret);
        decision_format_reason(ret);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <limits.h>
#include <stdio.h>

#include "delegation.h"

/* An Online= of a rule that can apply to new memory: it must be the [Memory] one. */
static bool same_online(const Config *c, OnlineType online, const char *rule, char *why, size_t size)
{
        if (online < 0 || online == c->online)
                return true;
        snprintf(why, size,
                 "%s Online=%s differs from [Memory] Online=%s, and the kernel has one setting for all new "
                 "memory",
                 rule, online_type_to_string(online), online_type_to_string(c->online));
        return false;
}

static bool nodes_delegate(const Config *c, char *why, size_t size)
{
        for (size_t i = 0; i < c->n_nodes; i++) {
                const NodePolicy *n = &c->nodes[i];
                char rule[32];

                snprintf(rule, sizeof(rule), "[Node %u]", n->node);
                if (!same_online(c, n->online, rule, why, size))
                        return false;
                /* The kernel's auto_movable_ratio and auto_movable_numa_aware are global too. */
                if (c->online == ONLINE_TYPE_AUTO_MOVABLE &&
                    ((n->movable_ratio != UINT_MAX && n->movable_ratio != c->movable_ratio) ||
                     (n->numa_aware >= 0 && (bool)n->numa_aware != c->numa_aware))) {
                        snprintf(why, size,
                                 "%s sets its own MovableRatio= or NumaAware=, which the kernel has only "
                                 "globally",
                                 rule);
                        return false;
                }
        }
        return true;
}

/* Memory of a dax device the daemon converts comes online by the kernel's setting too. */
static bool dax_delegates(const Config *c, char *why, size_t size)
{
        if (c->dax.mode == DAX_MODE_SYSTEM_RAM && !same_online(c, c->dax.online, "[Dax]", why, size))
                return false;
        for (size_t i = 0; i < c->n_dax_rules; i++) {
                const DaxRule *r = &c->dax_rules[i];
                DaxMode mode = r->mode >= 0 ? r->mode : c->dax.mode;
                OnlineType online = r->online >= 0 ? r->online : c->dax.online;
                char rule[96];

                if (mode != DAX_MODE_SYSTEM_RAM)
                        continue;
                snprintf(rule, sizeof(rule), "[Dax %s]", r->name);
                if (!same_online(c, online, rule, why, size))
                        return false;
        }
        return true;
}

bool delegation_knobs(const Config *c, KernelKnobs *ret, char *why, size_t size)
{
        assert(c);
        assert(ret);
        assert(why);

        if (!nodes_delegate(c, why, size) || !dax_delegates(c, why, size))
                return false;

        *ret = (KernelKnobs){};
        switch (c->online) {
        case ONLINE_TYPE_MOVABLE:
                ret->auto_online_blocks = "online_movable";
                return true;
        case ONLINE_TYPE_KERNEL:
                ret->auto_online_blocks = "online_kernel";
                return true;
        case ONLINE_TYPE_OFFLINE:
                ret->auto_online_blocks = "offline";
                return true;
        case ONLINE_TYPE_ONLINE:
                ret->auto_online_blocks = "online";
                ret->online_policy = "contig-zones";
                return true;
        case ONLINE_TYPE_AUTO_MOVABLE:
                ret->auto_online_blocks = "online";
                ret->online_policy = "auto-movable";
                ret->auto_movable_ratio = c->movable_ratio;
                ret->auto_movable_numa_aware = c->numa_aware;
                return true;
        default:
                snprintf(why, size, "[Memory] Online=%s has no kernel setting",
                         online_type_to_string(c->online));
                return false;
        }
}

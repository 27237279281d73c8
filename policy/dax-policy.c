/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dax-policy.h"
#include "string-table.h"
#include "macro.h"

static const char *const dax_action_table[_DAX_ACTION_MAX] = {
        [DAX_ACTION_NONE] = "none",     [DAX_ACTION_CONVERT] = "convert", [DAX_ACTION_LEAVE] = "leave",
        [DAX_ACTION_IGNORE] = "ignore", [DAX_ACTION_REFUSE] = "refuse",   [DAX_ACTION_REVERT] = "revert",
        [DAX_ACTION_REBIND] = "rebind",
};

static const char *const dax_driver_table[_DAX_DRIVER_MAX] = {
        [DAX_DRIVER_NONE] = "unbound",
        [DAX_DRIVER_DEVICE_DAX] = "devdax",
        [DAX_DRIVER_KMEM] = "system-ram",
        [DAX_DRIVER_OTHER] = "other",
};

DEFINE_STRING_TABLE_TO_STRING(dax_action, DaxAction);
DEFINE_STRING_TABLE_TO_STRING(dax_driver, DaxDriver);

static bool has_serial(const DaxFacts *f, uint64_t serial)
{
        for (size_t i = 0; i < f->n_cxl_serials; i++)
                if (f->cxl_serials[i] == serial)
                        return true;
        return false;
}

static bool rule_matches(const DaxRule *r, const DaxFacts *f)
{
        if (r->match_device && !glob_list_match(r->match_device, f->name))
                return false;
        if (r->match_source && !(r->match_source & f->source))
                return false;
        if (r->match_node >= 0 && r->match_node != f->target_node)
                return false;
        /* A node the kernel has not put in a tier yet (no memory online) matches no MatchMemoryTier=. */
        if (r->match_tier >= 0 && r->match_tier != f->target_tier)
                return false;
        if (r->match_node_cpus >= 0 && r->match_node_cpus != f->target_cpus)
                return false;
        if (f->size < r->match_size.min || f->size > r->match_size.max)
                return false;
        /* A region interleaved over several memdevs matches the serial of any of them. */
        if (r->match_cxl_serial != UINT64_MAX && !has_serial(f, r->match_cxl_serial))
                return false;
        if (r->match_cxl_region && !streq_ptr(r->match_cxl_region, f->cxl_region))
                return false;
        /* UUIDs are compared as daxctl does, without regard to case. */
        if (r->match_nvdimm_uuid &&
            (!f->nvdimm_uuid || strcasecmp(r->match_nvdimm_uuid, f->nvdimm_uuid) != 0))
                return false;
        return true;
}

const DaxRule *dax_rule_find(const Config *c, const DaxFacts *f)
{
        assert(c);
        assert(f);

        for (size_t i = 0; i < c->n_dax_rules; i++)
                if (rule_matches(&c->dax_rules[i], f))
                        return &c->dax_rules[i];
        return NULL;
}

/* Already system RAM, whoever bound kmem: the kernel does so by default for CXL regions and for
 * soft-reserved memory (dax_hmem), with memmap_on_memory as its own default says. The rule still
 * holds: Mode=devdax takes the device back, and a MemmapOnMemory= the device does not have binds
 * kmem again with it. Whether that can happen now (no block online) is for the daemon to see. */
static void decide_kmem(const DaxFacts *f, bool can_memmap, DaxDecision *ret)
{
        bool want;

        if (ret->mode == DAX_MODE_DEVDAX) {
                ret->action = DAX_ACTION_REVERT;
                snprintf(ret->reason, sizeof(ret->reason),
                         "%s Mode=devdax, but bound to kmem: back to devdax", ret->rule);
                return;
        }
        want = ret->memmap == MEMMAP_YES && can_memmap;
        if (f->memmap >= 0 && (ret->memmap == MEMMAP_NO || want) && f->memmap != want) {
                ret->action = DAX_ACTION_REBIND;
                ret->write_memmap = true;
                ret->memmap_value = want;
                snprintf(ret->reason, sizeof(ret->reason),
                         "%s MemmapOnMemory=%s, but bound to kmem with the memmap %s: binding kmem again",
                         ret->rule, want ? "yes" : "no", f->memmap ? "on the device" : "in system RAM");
                return;
        }
        ret->action = DAX_ACTION_NONE;
        snprintf(ret->reason, sizeof(ret->reason), "already system-ram, memmap %s; blocks: %s Online=%s",
                 f->memmap > 0 ? "on the device" : "in system RAM", ret->rule,
                 online_type_to_string(ret->online));
}

void dax_policy_decide(const Config *c, const DaxFacts *f, DaxDecision *ret)
{
        const DaxRule *r;
        bool can_memmap;

        assert(c);
        assert(f);
        assert(ret);

        r = dax_rule_find(c, f);
        can_memmap = f->memmap_attr && f->memmap_global;
        *ret = (DaxDecision){};
        if (r)
                snprintf(ret->rule, sizeof(ret->rule), "[Dax %s]", r->name);
        else
                snprintf(ret->rule, sizeof(ret->rule), "[Dax]");
        /* What a named rule does not say, [Dax] does. */
        ret->mode = r && r->mode >= 0 ? r->mode : c->dax.mode;
        ret->online = r && r->online >= 0 ? r->online : c->dax.online;
        ret->memmap = r && r->memmap >= 0 ? r->memmap : c->dax.memmap;

        if (ret->mode == DAX_MODE_IGNORE) {
                ret->action = DAX_ACTION_IGNORE;
                snprintf(ret->reason, sizeof(ret->reason), "%s Mode=ignore", ret->rule);
                return;
        }
        if (f->driver == DAX_DRIVER_KMEM) {
                decide_kmem(f, can_memmap, ret);
                return;
        }
        if (ret->mode == DAX_MODE_DEVDAX) {
                ret->action = DAX_ACTION_LEAVE;
                snprintf(ret->reason, sizeof(ret->reason), "%s Mode=devdax", ret->rule);
                return;
        }
        if (f->driver == DAX_DRIVER_OTHER) {
                ret->action = DAX_ACTION_REFUSE;
                snprintf(ret->reason, sizeof(ret->reason), "%s Mode=system-ram, but another driver has it",
                         ret->rule);
                return;
        }

        switch (ret->memmap) {
        case MEMMAP_YES:
                if (!can_memmap) {
                        ret->action = DAX_ACTION_REFUSE;
                        snprintf(ret->reason, sizeof(ret->reason),
                                 "%s MemmapOnMemory=yes, but %s; not converting", ret->rule,
                                 !f->memmap_attr
                                         ? "this kernel has no per-device memmap_on_memory (Linux 6.8+)"
                                         : "memory_hotplug.memmap_on_memory is off");
                        return;
                }
                ret->write_memmap = ret->memmap_value = true;
                break;
        case MEMMAP_AUTO:
                ret->write_memmap = ret->memmap_value = can_memmap;
                break;
        case MEMMAP_NO:
                /* Write 0 where the attribute exists, so a default of 1 does not apply. */
                ret->write_memmap = f->memmap_attr;
                ret->memmap_value = false;
                break;
        default:
                break;
        }

        ret->action = DAX_ACTION_CONVERT;
        snprintf(ret->reason, sizeof(ret->reason), "%s Mode=system-ram, memmap %s, Online=%s", ret->rule,
                 ret->memmap_value ? "on the device"
                 : ret->memmap == MEMMAP_AUTO && !f->memmap_attr
                         ? "in system RAM (kernel lacks memmap_on_memory per device)"
                 : ret->memmap == MEMMAP_AUTO ? "in system RAM (memory_hotplug.memmap_on_memory is off)"
                                              : "in system RAM",
                 online_type_to_string(ret->online));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dax-rule.h"

/* The decision engine for device-dax instances: device facts and a config in, an action out. */

typedef enum DaxDriver {
        DAX_DRIVER_NONE,       /* not bound */
        DAX_DRIVER_DEVICE_DAX, /* a character device: devdax mode */
        DAX_DRIVER_KMEM,       /* system RAM */
        DAX_DRIVER_OTHER,
        _DAX_DRIVER_MAX,
} DaxDriver;

typedef struct DaxFacts {
        const char *name; /* "dax0.0" */
        DaxSource source; /* 0 when the path tells nothing */
        int target_node;  /* -1 when unknown */
        int target_tier;  /* memory_tierN of the target node; -1 when in none (yet) or unknown */
        int target_cpus;  /* whether the target node has CPUs: 1, 0, -1 when unknown */
        uint64_t size, resource;
        DaxDriver driver;
        const uint64_t *cxl_serials; /* of the memdevs behind a CXL region */
        size_t n_cxl_serials;
        const char *cxl_region;
        const char *nvdimm_uuid;
        bool memmap_attr;   /* the device has memmap_on_memory (Linux 6.8+) */
        bool memmap_global; /* memory_hotplug.memmap_on_memory is on */
        int memmap;         /* the device's memmap_on_memory now: 0, 1, or -1 without the attribute */
} DaxFacts;

typedef enum DaxAction {
        DAX_ACTION_NONE,    /* already system RAM: its blocks follow the rule's Online= */
        DAX_ACTION_CONVERT, /* bind kmem, then online the blocks */
        DAX_ACTION_LEAVE,   /* stays devdax */
        DAX_ACTION_IGNORE,  /* Mode=ignore: not touched at all */
        DAX_ACTION_REFUSE,  /* the rule cannot be followed (MemmapOnMemory=yes without support) */
        DAX_ACTION_REVERT,  /* system RAM (the kernel bound kmem), but the rule says devdax */
        DAX_ACTION_REBIND,  /* system RAM with the other memmap placement: kmem off, memmap, kmem on */
        _DAX_ACTION_MAX,
} DaxAction;

typedef struct DaxDecision {
        DaxAction action;
        DaxMode mode;
        OnlineType online;
        MemmapMode memmap;
        bool write_memmap; /* CONVERT, REBIND: write memmap_on_memory before binding kmem */
        bool memmap_value;
        char rule[80]; /* "[Dax cxl-expanders]", "[Dax]" */
        char reason[256];
} DaxDecision;

/* The first [Dax NAME] rule that matches, or NULL for the [Dax] defaults. */
const DaxRule *dax_rule_find(const Config *c, const DaxFacts *f);
void dax_policy_decide(const Config *c, const DaxFacts *f, DaxDecision *ret);
const char *dax_action_to_string(DaxAction a);
const char *dax_driver_to_string(DaxDriver d);

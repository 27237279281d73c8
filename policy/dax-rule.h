/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "memtypes.h"
#include "parse-util.h"

/* Policy for device-dax instances: the [Dax] defaults and the named [Dax NAME] rules. */

/* Where a setting was made, for --check-config: file is the index + 1 into Config.files (0: not
 * set by any file, the built-in default), line counts from 1. */
typedef struct ConfigOrigin {
        uint32_t file;
        uint32_t line;
} ConfigOrigin;

/* The keys of a rule, by their slot in DaxRule.origin[]. */
typedef enum DaxRuleKey {
        DAX_KEY_MODE,
        DAX_KEY_MEMMAP,
        DAX_KEY_ONLINE,
        DAX_KEY_MATCH_DEVICE,
        DAX_KEY_MATCH_SOURCE,
        DAX_KEY_MATCH_NODE,
        DAX_KEY_MATCH_TIER,
        DAX_KEY_MATCH_NODE_CPUS,
        DAX_KEY_MATCH_SIZE,
        DAX_KEY_MATCH_CXL_SERIAL,
        DAX_KEY_MATCH_CXL_REGION,
        DAX_KEY_MATCH_NVDIMM_UUID,
        DAX_RULE_KEYS,
} DaxRuleKey;

typedef enum DaxMode {
        DAX_MODE_SYSTEM_RAM, /* bind kmem: the device's memory becomes memory blocks */
        DAX_MODE_DEVDAX,     /* leave it a character device for applications */
        DAX_MODE_IGNORE,     /* do not touch it, nor the blocks of it that are system RAM */
        _DAX_MODE_MAX,
        _DAX_MODE_INVALID = -EINVAL,
} DaxMode;

typedef enum MemmapMode {
        MEMMAP_AUTO, /* the memmap on the device where the kernel can, else in system RAM */
        MEMMAP_YES,  /* on the device or not at all: refuse to convert without it */
        MEMMAP_NO,   /* in system RAM */
        _MEMMAP_MAX,
        _MEMMAP_INVALID = -EINVAL,
} MemmapMode;

/* Where a device's memory comes from, as its sysfs path tells. A mask, for MatchSource=. */
typedef enum DaxSource {
        DAX_SOURCE_CXL = 1 << 0,
        DAX_SOURCE_HMEM = 1 << 1,
        DAX_SOURCE_NVDIMM = 1 << 2,
} DaxSource;

typedef struct DaxRule {
        char *name; /* NULL for the [Dax] defaults */
        /* Match keys, all of which must match; unset ones match anything. */
        char *match_device;    /* space-separated globs */
        unsigned match_source; /* DaxSource mask; 0: any */
        int match_node;        /* target node; -1: any */
        int match_tier;        /* memory_tierN of the target node; -1: any */
        int match_node_cpus;   /* whether the target node has CPUs: 1, 0; -1: any */
        struct {
                uint64_t min, max;
        } match_size;
        uint64_t match_cxl_serial; /* UINT64_MAX: any */
        char *match_cxl_region;
        char *match_nvdimm_uuid;
        /* Actions; -1 (invalid) where not set in a named rule: the [Dax] defaults apply. */
        DaxMode mode;
        MemmapMode memmap;
        OnlineType online;
        ConfigOrigin origin[DAX_RULE_KEYS];
} DaxRule;

void dax_rule_init(DaxRule *r, const char *name);
void dax_rule_done(DaxRule *r);

const char *dax_mode_to_string(DaxMode m);
DaxMode dax_mode_from_string(const char *s);
const char *memmap_mode_to_string(MemmapMode m);
MemmapMode memmap_mode_from_string(const char *s);
const char *dax_source_to_string(DaxSource s);
int dax_sources_from_string(const char *s, unsigned *ret);
bool uuid_is_valid(const char *s);
/* Whether s matches one of the space-separated globs. */
bool glob_list_match(const char *globs, const char *s);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "dax-rule.h"
#include "macro.h"
#include "string-table.h"

void dax_rule_init(DaxRule *r, const char *name)
{
        assert(r);

        *r = (DaxRule){
                .name = name ? strdup(name) : NULL,
                .match_node = -1,
                .match_tier = -1,
                .match_node_cpus = -1,
                .match_size = { 0, UINT64_MAX },
                .match_cxl_serial = UINT64_MAX,
                .mode = name ? _DAX_MODE_INVALID : DAX_MODE_DEVDAX,
                .memmap = name ? _MEMMAP_INVALID : MEMMAP_AUTO,
                .online = name ? _ONLINE_TYPE_INVALID : ONLINE_TYPE_MOVABLE,
        };
}

void dax_rule_done(DaxRule *r)
{
        assert(r);

        free(r->name);
        free(r->match_device);
        free(r->match_cxl_region);
        free(r->match_nvdimm_uuid);
}

static const char *const dax_mode_table[_DAX_MODE_MAX] = {
        [DAX_MODE_SYSTEM_RAM] = "system-ram",
        [DAX_MODE_DEVDAX] = "devdax",
        [DAX_MODE_IGNORE] = "ignore",
};

static const char *const memmap_mode_table[_MEMMAP_MAX] = {
        [MEMMAP_AUTO] = "auto",
        [MEMMAP_YES] = "yes",
        [MEMMAP_NO] = "no",
};

DEFINE_STRING_TABLE_LOOKUP(dax_mode, DaxMode);
DEFINE_STRING_TABLE_LOOKUP(memmap_mode, MemmapMode);

const char *dax_source_to_string(DaxSource s)
{
        switch (s) {
        case DAX_SOURCE_CXL:
                return "cxl";
        case DAX_SOURCE_HMEM:
                return "hmem";
        case DAX_SOURCE_NVDIMM:
                return "nvdimm";
        default:
                return "unknown";
        }
}

int dax_sources_from_string(const char *s, unsigned *ret)
{
        unsigned mask = 0;

        assert(s);
        assert(ret);

        while (*s) {
                size_t n = strcspn(s, " ");
                DaxSource found = 0;

                for (DaxSource d = DAX_SOURCE_CXL; d <= DAX_SOURCE_NVDIMM; d <<= 1)
                        if (n == strlen(dax_source_to_string(d)) &&
                            strncmp(s, dax_source_to_string(d), n) == 0)
                                found = d;
                if (n > 0 && !found)
                        return -EINVAL;
                mask |= found;
                s += n;
                s += strspn(s, " ");
        }
        if (mask == 0)
                return -EINVAL;
        *ret = mask;
        return 0;
}

bool uuid_is_valid(const char *s)
{
        assert(s);

        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!isxdigit((unsigned char)s[i]))
                        return false;
        }
        return true;
}

bool glob_list_match(const char *globs, const char *s)
{
        _cleanup_(freep) char *copy = NULL;
        char *save = NULL;

        assert(globs);
        assert(s);

        copy = strdup(globs);
        if (!copy)
                return false;
        for (char *g = strtok_r(copy, " ", &save); g; g = strtok_r(NULL, " ", &save))
                if (fnmatch(g, s, 0) == 0)
                        return true;
        return false;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <inttypes.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "strv.h"
#include "macro.h"
#include "config.h"
#include "daxctl-import.h"
#include "ini-file.h"
#include "parse-util.h"
#include "placement.h"
#include "string-table.h"

static const char *const kernel_auto_online_table[_KERNEL_AUTO_ONLINE_MAX] = {
        [KERNEL_AUTO_ONLINE_TAKEOVER] = "takeover",
        [KERNEL_AUTO_ONLINE_RESPECT] = "respect",
        [KERNEL_AUTO_ONLINE_DELEGATE] = "delegate",
};

static const char *const demotion_mode_table[_DEMOTION_MAX] = {
        [DEMOTION_KEEP] = "keep",
        [DEMOTION_YES] = "yes",
        [DEMOTION_NO] = "no",
};

static const char *const uevent_source_table[_UEVENT_SOURCE_MAX] = {
        [UEVENT_SOURCE_KERNEL] = "kernel",
        [UEVENT_SOURCE_UDEV] = "udev",
};

DEFINE_STRING_TABLE_LOOKUP(kernel_auto_online, KernelAutoOnline);
DEFINE_STRING_TABLE_LOOKUP(uevent_source, UeventSource);
DEFINE_STRING_TABLE_LOOKUP(demotion_mode, DemotionMode);

void config_init_defaults(Config *c)
{
        assert(c);

        *c = (Config){
                .chunk_blocks = 64,
                .chunk_pause_usec = 0,
                .scan_at_start = true,
                .lock_memory = true,
                .kernel_auto_online = KERNEL_AUTO_ONLINE_TAKEOVER,
                .uevent_source = UEVENT_SOURCE_KERNEL,
                .log_level = -1,
                .max_attempts = 3,
                .retry_usec = USEC_PER_SEC,
                .offline_timeout_usec = 30 * USEC_PER_SEC,
                .online = ONLINE_TYPE_PLATFORM,
                .movable_ratio = MOVABLE_RATIO_DEFAULT,
                .numa_aware = true,
        };
        dax_rule_init(&c->dax, NULL);
}

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c->nodes);
        dax_rule_done(&c->dax);
        for (size_t i = 0; i < c->n_dax_rules; i++)
                dax_rule_done(&c->dax_rules[i]);
        free(c->dax_rules);
        free(c->daxctl_config_dir);
        free(c->metrics_file);
        free(c);
        return NULL;
}

void config_apply_platform(Config *c, OnlineType type)
{
        assert(c);

        if (c->online == ONLINE_TYPE_PLATFORM)
                c->online = type;
        for (size_t i = 0; i < c->n_nodes; i++)
                if (c->nodes[i].online == ONLINE_TYPE_PLATFORM)
                        c->nodes[i].online = type;
        if (c->dax.online == ONLINE_TYPE_PLATFORM)
                c->dax.online = type;
        for (size_t i = 0; i < c->n_dax_rules; i++)
                if (c->dax_rules[i].online == ONLINE_TYPE_PLATFORM)
                        c->dax_rules[i].online = type;
}

const NodePolicy *config_find_node(const Config *c, unsigned node)
{
        assert(c);

        for (size_t i = 0; i < c->n_nodes; i++)
                if (c->nodes[i].node == node)
                        return &c->nodes[i];
        return NULL;
}

/* Value parsers for the key table: each takes the text and the field it fills. */

static int value_chunk_blocks(const char *v, void *field)
{
        return parse_unsigned(v, 1, 1u << 20, field);
}

static int value_attempts(const char *v, void *field)
{
        return parse_unsigned(v, 1, 1000, field);
}

static int value_sec_max(const char *v, uint64_t max, uint64_t *field)
{
        uint64_t usec;
        int r;

        r = parse_sec(v, &usec);
        if (r < 0)
                return r;
        if (usec > max)
                return -ERANGE;
        *field = usec;
        return 0;
}

static int value_chunk_pause(const char *v, void *field)
{
        return value_sec_max(v, CHUNK_PAUSE_USEC_MAX, field);
}

static int value_retry(const char *v, void *field)
{
        return value_sec_max(v, RETRY_USEC_MAX, field);
}

static int value_offline_timeout(const char *v, void *field)
{
        return value_sec_max(v, OFFLINE_TIMEOUT_USEC_MAX, field);
}

static int value_bool(const char *v, void *field)
{
        return parse_boolean(v, field);
}

static int value_ratio(const char *v, void *field)
{
        return parse_unsigned(v, 0, MOVABLE_RATIO_MAX, field);
}

/* [Node N] NumaAware=: an int, so that "not set here" (-1) can follow [Memory]. */
static int value_tristate(const char *v, void *field)
{
        bool b;
        int r;

        r = parse_boolean(v, &b);
        if (r < 0)
                return r;
        *(int *)field = b;
        return 0;
}

static int value_log_level(const char *v, void *field)
{
        return parse_log_level(v, field);
}

static int value_kernel_auto_online(const char *v, void *field)
{
        KernelAutoOnline k = kernel_auto_online_from_string(v);

        if (k < 0)
                return k;
        *(KernelAutoOnline *)field = k;
        return 0;
}

static int value_demotion(const char *v, void *field)
{
        DemotionMode d = demotion_mode_from_string(v);

        if (d < 0)
                return d;
        *(DemotionMode *)field = d;
        return 0;
}

static int value_uevent_source(const char *v, void *field)
{
        UeventSource s = uevent_source_from_string(v);

        if (s < 0)
                return s;
        *(UeventSource *)field = s;
        return 0;
}

static int value_online(const char *v, void *field)
{
        OnlineType t = online_type_from_string(v);

        if (t < 0)
                return t;
        *(OnlineType *)field = t;
        return 0;
}

static int value_dax_mode(const char *v, void *field)
{
        DaxMode m = dax_mode_from_string(v);

        if (m < 0)
                return m;
        *(DaxMode *)field = m;
        return 0;
}

static int value_memmap(const char *v, void *field)
{
        MemmapMode m = memmap_mode_from_string(v);

        if (m < 0)
                return m;
        *(MemmapMode *)field = m;
        return 0;
}

static int set_string(void *field, const char *v)
{
        char *copy = strdup(v);

        if (!copy)
                return -ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
}

static int value_globs(const char *v, void *field)
{
        return set_string(field, v);
}

static int value_sources(const char *v, void *field)
{
        return dax_sources_from_string(v, field);
}

/* An int field that is -1 while unset. */
static int set_int(const char *v, unsigned max, void *field)
{
        unsigned n;
        int r;

        r = parse_unsigned(v, 0, max, &n);
        if (r < 0)
                return r;
        *(int *)field = (int)n;
        return 0;
}

static int value_match_node(const char *v, void *field)
{
        return set_int(v, NODE_MAX, field);
}

/* memory_tierN: the kernel numbers tiers by abstract distance / 128, well below this. */
static int value_tier(const char *v, void *field)
{
        return set_int(v, 65535, field);
}

static int value_size_range(const char *v, void *field)
{
        uint64_t *range = field;

        return parse_size_range(v, &range[0], &range[1]);
}

static int value_serial(const char *v, void *field)
{
        uint64_t serial;
        int r;

        /* Serials are printed in hex by cxl list ("0x…"), in decimal by some tools: take both. */
        r = strncmp(v, "0x", 2) == 0 ? parse_hex_u64(v, &serial) : parse_u64(v, &serial);
        if (r < 0 || serial == UINT64_MAX)
                return -EINVAL;
        *(uint64_t *)field = serial;
        return 0;
}

static int value_region(const char *v, void *field)
{
        unsigned n;

        if (parse_sysname_index(v, "region", UINT_MAX, &n) < 0)
                return -EINVAL;
        return set_string(field, v);
}

static int value_uuid(const char *v, void *field)
{
        if (!uuid_is_valid(v))
                return -EINVAL;
        return set_string(field, v);
}

static int value_path(const char *v, void *field)
{
        if (v[0] != '/')
                return -EINVAL;
        return set_string(field, v);
}

/* MetricsFile=: "no" writes none (kept as ""); a path ends in ".prom", the only files the
 * textfile collector reads, so that the temporary file of an atomic write is never read. */
static int value_metrics_file(const char *v, void *field)
{
        size_t n = strlen(v);

        if (streq(v, "no"))
                return set_string(field, "");
        if (v[0] != '/' || v[n - 1] == '/' || n < 6 || !streq(v + n - 5, ".prom"))
                return -EINVAL;
        return set_string(field, v);
}

typedef enum KeyBase {
        BASE_CONFIG,
        BASE_NODE,     /* NodePolicy of a [Node N] */
        BASE_DAX_RULE, /* DaxRule: the [Dax] defaults, or a [Dax NAME] rule */
} KeyBase;

typedef struct ConfigKey {
        const char *section; /* "Node" stands for every [Node N]; "Dax NAME" for every named rule */
        const char *key;
        int (*parse)(const char *value, void *field);
        KeyBase base;
        size_t offset;
        size_t size;
        bool string; /* a char* field: reset frees it */
        const char *expected;
        unsigned slot; /* in the origin[] of its base: CONFIG_OWN_KEYS, NODE_POLICY_KEYS, DAX_RULE_KEYS */
} ConfigKey;

#define KEY_FULL(sec, name, fn, base, type, field, str, exp, slot)                                          \
        {                                                                                                   \
                sec, name, fn, base, offsetof(type, field), sizeof(((type *)0)->field), str, exp, slot      \
        }
#define KEY(sec, name, fn, type, field, exp, slot)                                                          \
        KEY_FULL(sec, name, fn, BASE_CONFIG, type, field, false, exp, slot)
#define DAX_KEY(sec, name, fn, field, str, exp, slot)                                                       \
        KEY_FULL(sec, name, fn, BASE_DAX_RULE, DaxRule, field, str, exp, slot)

#define EXPECT_ONLINE "movable, kernel, online, offline, auto-movable or platform"
#define EXPECT_RATIO  "a percentage from 0 to 100000, e.g. 301"
#define EXPECT_MODE   "system-ram, devdax or ignore"
#define EXPECT_MEMMAP "yes, no or auto"

/* The slot numbers are unique within a base; test-config-search sets every key on a line of its
 * own and checks the line --check-config reports for it. */
static const ConfigKey config_keys[] = {
        KEY("Daemon", "ChunkBlocks", value_chunk_blocks, Config, chunk_blocks,
            "a number of blocks, 1 or more", 0),
        KEY("Daemon", "ChunkPauseSec", value_chunk_pause, Config, chunk_pause_usec,
            "a time such as 0, 0.5 or 200ms, at most 3600 (an hour)", 1),
        KEY("Daemon", "ScanAtStart", value_bool, Config, scan_at_start, "yes or no", 2),
        KEY("Daemon", "LockMemory", value_bool, Config, lock_memory, "yes or no", 3),
        KEY("Daemon", "KernelAutoOnline", value_kernel_auto_online, Config, kernel_auto_online,
            "takeover, respect or delegate", 4),
        KEY("Daemon", "Demotion", value_demotion, Config, demotion, "yes, no or keep", 5),
        KEY("Daemon", "UeventSource", value_uevent_source, Config, uevent_source, "kernel or udev", 6),
        KEY("Daemon", "LogLevel", value_log_level, Config, log_level,
            "emerg, alert, crit, err, warning, notice, info or debug", 7),
        KEY("Daemon", "MaxAttempts", value_attempts, Config, max_attempts, "a number from 1 to 1000", 8),
        KEY("Daemon", "RetrySec", value_retry, Config, retry_usec,
            "a time such as 1 or 500ms, at most 3600 (an hour)", 9),
        KEY("Daemon", "OfflineTimeoutSec", value_offline_timeout, Config, offline_timeout_usec,
            "a time such as 30, 2min or 0 (no limit), at most 86400 (a day)", 10),
        KEY_FULL("Daemon", "MetricsFile", value_metrics_file, BASE_CONFIG, Config, metrics_file, true,
                 "an absolute path ending in .prom, or no", 16),
        KEY("Memory", "Online", value_online, Config, online, EXPECT_ONLINE, 11),
        KEY("Memory", "MovableRatio", value_ratio, Config, movable_ratio, EXPECT_RATIO, 12),
        KEY("Memory", "NumaAware", value_bool, Config, numa_aware, "yes or no", 13),
        KEY_FULL("Node", "Online", value_online, BASE_NODE, NodePolicy, online, false, EXPECT_ONLINE, 0),
        KEY_FULL("Node", "MovableRatio", value_ratio, BASE_NODE, NodePolicy, movable_ratio, false,
                 EXPECT_RATIO, 1),
        KEY_FULL("Node", "NumaAware", value_tristate, BASE_NODE, NodePolicy, numa_aware, false, "yes or no",
                 2),

        DAX_KEY("Dax", "Mode", value_dax_mode, mode, false, EXPECT_MODE, DAX_KEY_MODE),
        DAX_KEY("Dax", "MemmapOnMemory", value_memmap, memmap, false, EXPECT_MEMMAP, DAX_KEY_MEMMAP),
        DAX_KEY("Dax", "Online", value_online, online, false, EXPECT_ONLINE, DAX_KEY_ONLINE),
        KEY("Dax", "ImportDaxctlConfig", value_bool, Config, import_daxctl, "yes or no", 14),
        KEY_FULL("Dax", "DaxctlConfigDirectory", value_path, BASE_CONFIG, Config, daxctl_config_dir, true,
                 "an absolute path", 15),

        DAX_KEY("Dax NAME", "Mode", value_dax_mode, mode, false, EXPECT_MODE, DAX_KEY_MODE),
        DAX_KEY("Dax NAME", "MemmapOnMemory", value_memmap, memmap, false, EXPECT_MEMMAP, DAX_KEY_MEMMAP),
        DAX_KEY("Dax NAME", "Online", value_online, online, false, EXPECT_ONLINE, DAX_KEY_ONLINE),
        DAX_KEY("Dax NAME", "MatchDevice", value_globs, match_device, true,
                "device names or globs, e.g. dax1.*", DAX_KEY_MATCH_DEVICE),
        DAX_KEY("Dax NAME", "MatchSource", value_sources, match_source, false,
                "cxl, hmem or nvdimm (a list)", DAX_KEY_MATCH_SOURCE),
        DAX_KEY("Dax NAME", "MatchNode", value_match_node, match_node, false, "a node number from 0 to 1023",
                DAX_KEY_MATCH_NODE),
        DAX_KEY("Dax NAME", "MatchMemoryTier", value_tier, match_tier, false,
                "a memory tier number N of memory_tierN, e.g. 4", DAX_KEY_MATCH_TIER),
        DAX_KEY("Dax NAME", "MatchNodeCPUs", value_tristate, match_node_cpus, false, "yes or no",
                DAX_KEY_MATCH_NODE_CPUS),
        DAX_KEY("Dax NAME", "MatchSize", value_size_range, match_size, false,
                "a size range such as 1G-64G, 16G- or -1T", DAX_KEY_MATCH_SIZE),
        DAX_KEY("Dax NAME", "MatchCXLSerial", value_serial, match_cxl_serial, false,
                "a memory device serial number such as 0x1a2b", DAX_KEY_MATCH_CXL_SERIAL),
        DAX_KEY("Dax NAME", "MatchCXLRegion", value_region, match_cxl_region, true,
                "a region name such as region0", DAX_KEY_MATCH_CXL_REGION),
        DAX_KEY("Dax NAME", "MatchNvdimmUUID", value_uuid, match_nvdimm_uuid, true,
                "a namespace UUID such as 8d2a5f3e-…", DAX_KEY_MATCH_NVDIMM_UUID),
};

static const ConfigKey *config_key_find(const char *section, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, section) && streq(config_keys[i].key, key))
                        return &config_keys[i];
        return NULL;
}

/* The origin[] entry of key k in its base (a Config, NodePolicy or DaxRule). */
static ConfigOrigin *key_origin(const ConfigKey *k, void *base)
{
        switch (k->base) {
        case BASE_NODE:
                return &((NodePolicy *)base)->origin[k->slot];
        case BASE_DAX_RULE:
                return &((DaxRule *)base)->origin[k->slot];
        case BASE_CONFIG:
        default:
                return &((Config *)base)->origin[k->slot];
        }
}

/* "Node 3" -> 3 */
static int parse_node_section(const char *section, unsigned *ret)
{
        if (strncmp(section, "Node ", 5) != 0)
                return -EINVAL;
        return parse_unsigned(section + 5, 0, NODE_MAX, ret);
}

static NodePolicy *node_policy_get(Config *c, unsigned node)
{
        NodePolicy *n;

        n = (NodePolicy *)config_find_node(c, node);
        if (n)
                return n;
        n = realloc(c->nodes, (c->n_nodes + 1) * sizeof(NodePolicy));
        if (!n)
                return NULL;
        c->nodes = n;
        /* Inherit [Memory] as it stands at the end of parsing: -1 marks "not set here". */
        c->nodes[c->n_nodes] = NODE_POLICY_UNSET(node);
        return &c->nodes[c->n_nodes++];
}

const DaxRule *config_find_dax_rule(const Config *c, const char *name)
{
        assert(c);
        assert(name);

        for (size_t i = 0; i < c->n_dax_rules; i++)
                if (streq(c->dax_rules[i].name, name))
                        return &c->dax_rules[i];
        return NULL;
}

int config_dax_rules_reserve(Config *c)
{
        DaxRule *r;
        size_t n;

        assert(c);

        if (c->n_dax_rules >= CONFIG_DAX_RULES_MAX)
                return -E2BIG;
        if (c->n_dax_rules < c->n_dax_rules_allocated)
                return 0;
        n = c->n_dax_rules_allocated ? c->n_dax_rules_allocated * 2 : 16;
        r = realloc(c->dax_rules, n * sizeof(DaxRule));
        if (!r)
                return -ENOMEM;
        c->dax_rules = r;
        c->n_dax_rules_allocated = n;
        return 0;
}

/* State of one load across its files. Rules are found by name through a hash table of indices
 * (open addressing) and the last key's rule is remembered, since inih reports keys section by
 * section: a load is linear in the number of rules, not quadratic. */
typedef struct ConfigParser {
        Config *config;
        size_t *rule_slots;  /* index + 1 into config->dax_rules; 0: empty */
        size_t n_rule_slots; /* a power of two, at least twice the number of rules */
        size_t last_rule;    /* index + 1 of the rule the last key went to; 0: none */
        uint32_t file;       /* index + 1 into config->files the file being read will have */
} ConfigParser;

static size_t name_hash(const char *s)
{
        size_t h = 14695981039346656037ULL; /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

static size_t *rule_slot(ConfigParser *p, const char *name)
{
        size_t mask = p->n_rule_slots - 1;

        for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
                size_t *slot = &p->rule_slots[i];

                if (*slot == 0 || streq(p->config->dax_rules[*slot - 1].name, name))
                        return slot;
        }
}

static int rule_index_grow(ConfigParser *p)
{
        size_t n = p->n_rule_slots ? p->n_rule_slots * 2 : 64;
        size_t *old = p->rule_slots;

        p->rule_slots = calloc(n, sizeof(size_t));
        if (!p->rule_slots) {
                p->rule_slots = old;
                return -ENOMEM;
        }
        p->n_rule_slots = n;
        for (size_t i = 0; i < p->config->n_dax_rules; i++)
                *rule_slot(p, p->config->dax_rules[i].name) = i + 1;
        free(old);
        return 0;
}

/* A rule named again (say, in a drop-in) is the same rule: its keys are added, its place kept.
 * Returns -E2BIG past CONFIG_DAX_RULES_MAX rules. */
static int dax_rule_get(ConfigParser *p, const char *name, DaxRule **ret)
{
        Config *c = p->config;
        size_t *slot;

        if (p->last_rule > 0 && streq(c->dax_rules[p->last_rule - 1].name, name)) {
                *ret = &c->dax_rules[p->last_rule - 1];
                return 0;
        }
        if (2 * (c->n_dax_rules + 1) > p->n_rule_slots && rule_index_grow(p) < 0)
                return -ENOMEM;
        slot = rule_slot(p, name);
        if (*slot == 0) {
                int q = config_dax_rules_reserve(c);

                if (q < 0)
                        return q;
                dax_rule_init(&c->dax_rules[c->n_dax_rules], name);
                if (!c->dax_rules[c->n_dax_rules].name)
                        return -ENOMEM;
                *slot = ++c->n_dax_rules;
        }
        p->last_rule = *slot;
        *ret = &c->dax_rules[*slot - 1];
        return 0;
}

static bool rule_name_valid(const char *name)
{
        if (!*name)
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("-_.:", *p))
                        return false;
        return true;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
        IniFile *s = user;
        ConfigParser *parser = s->userdata;
        Config *config = parser->config;
        const char *kind = section;
        NodePolicy defaults_node = NODE_POLICY_UNSET(0);
        DaxRule defaults_rule, *rule = NULL;
        Config defaults;
        unsigned node = 0;
        void *base = NULL, *defaults_base = NULL;
        int r = 1, q;

        if (section[0] == '\0')
                return ini_fail(s, "Key %s= outside of any [Section]", name);
        if (strncmp(section, "Node", 4) == 0 && (section[4] == '\0' || section[4] == ' ')) {
                if (parse_node_section(section, &node) < 0)
                        return ini_fail(s, "Invalid section [%s]: expected [Node N] with N from 0 to %u",
                                        section, NODE_MAX);
                kind = "Node";
        } else if (strncmp(section, "Dax ", 4) == 0) {
                if (!rule_name_valid(section + 4))
                        return ini_fail(
                                s, "Invalid section [%s]: a rule name is letters, digits and -_.:", section);
                kind = "Dax NAME";
        }

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];

                if (!streq(k->section, kind) || !streq(k->key, name))
                        continue;

                config_init_defaults(&defaults);
                dax_rule_init(&defaults_rule, streq(kind, "Dax NAME") ? "defaults" : NULL);
                switch (k->base) {
                case BASE_NODE:
                        base = node_policy_get(config, node);
                        defaults_base = &defaults_node;
                        break;
                case BASE_DAX_RULE:
                        base = &config->dax;
                        if (streq(kind, "Dax NAME")) {
                                q = dax_rule_get(parser, section + 4, &rule);
                                if (q == -E2BIG) {
                                        r = ini_fail(s, "Too many [Dax NAME] rules (max %u)",
                                                     CONFIG_DAX_RULES_MAX);
                                        goto done;
                                }
                                base = q < 0 ? NULL : rule;
                        }
                        defaults_base = &defaults_rule;
                        break;
                case BASE_CONFIG:
                        base = config;
                        defaults_base = &defaults;
                        break;
                }
                if (!base)
                        r = ini_fail(s, "Out of memory");
                else if (value[0] == '\0') {
                        /* An empty assignment resets the key to its default, as in systemd's files. */
                        if (k->string) {
                                free(*(char **)((char *)base + k->offset));
                                *(char **)((char *)base + k->offset) = NULL;
                        } else
                                memcpy((char *)base + k->offset, (char *)defaults_base + k->offset, k->size);
                } else if (k->parse(value, (char *)base + k->offset) < 0)
                        r = ini_fail(s, "Invalid value \"%s\" for %s= in [%s]: expected %s", value, name,
                                     section, k->expected);
                if (base)
                        *key_origin(k, base) = (ConfigOrigin){ .file = parser->file, .line = s->line };
        done:
                dax_rule_done(&defaults_rule);
                dax_rule_done(&defaults.dax);
                return r;
        }

        if (streq(kind, "Dax") && strncmp(name, "Match", 5) == 0)
                return ini_fail(s, "%s= in [Dax]: match keys belong in a named rule, [Dax NAME]", name);
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, kind))
                        return ini_fail(s, "Unknown key %s= in section [%s]", name, section);
        return ini_fail(s, "Unknown section [%s]", section);
}

static int config_add_file(Config *c, const char *path)
{
        char **files;

        files = realloc(c->files, (c->n_files + 1) * sizeof(char *));
        if (!files)
                return -ENOMEM;
        c->files = files;
        c->files[c->n_files] = strdup(path);
        if (!c->files[c->n_files])
                return -ENOMEM;
        c->n_files++;
        return 0;
}

static int parse_file(ConfigParser *p, const char *path, char **ret_error, char **ret_error_file)
{
        int r;

        p->last_rule = 0;
        p->file = (uint32_t)p->config->n_files + 1;
        r = ini_file_parse(path, config_ini_handler, p, ret_error);
        if (r < 0) {
                if (ret_error_file)
                        *ret_error_file = strdup(path);
                return r;
        }
        if (r > 0)
                return 0; /* a link to /dev/null: masked, not read */
        return config_add_file(p->config, path);
}

static void node_inherit_origin(Config *c, NodePolicy *n, const char *key)
{
        n->origin[config_key_find("Node", key)->slot] = c->origin[config_key_find("Memory", key)->slot];
}

/* The credential comes last: it is what this one machine or boot was given (by the hypervisor,
 * the boot loader, the unit), more specific than any file of the image. */
static int parse_credential(ConfigParser *p, const char *credentials_dir, char **ret_error,
                            char **ret_error_file)
{
        _cleanup_(freep) char *path = NULL;
        size_t n = p->config->n_files;
        struct stat st;
        int r;

        if (!credentials_dir || !*credentials_dir)
                return 0;
        if (asprintf(&path, "%s/%s", credentials_dir, CONFIG_CREDENTIAL) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0 && errno == ENOENT)
                return 0; /* not passed: the unit asks for it whether or not the system has one */
        r = parse_file(p, path, ret_error, ret_error_file);
        if (r < 0)
                return r;
        if (p->config->n_files > n)
                p->config->credential_file = p->config->n_files;
        return 0;
}

int config_load_full(const char *path, bool required, const char *const *dropin_dirs,
                     const char *credentials_dir, Config **ret, char **ret_error, char **ret_error_file)
{
        static const char *const system_dirs[] = CONFIG_DROPIN_DIRS_DEFAULT;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strv_freep) char **dropins = NULL;
        _cleanup_(freep) char *dir = NULL;
        const char *own_dirs[2] = {}, *error_dir = NULL;
        ConfigParser p = {};
        struct stat st;
        int r;

        assert(path);
        assert(ret);
        assert(ret_error);

        *ret_error = NULL;
        if (ret_error_file)
                *ret_error_file = NULL;
        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        config_init_defaults(c);
        p.config = c;

        if (!dropin_dirs) {
                /* An explicit --config brings its own drop-ins only: a test or a trial run must
                 * not pick up the system's. */
                if (!required && streq(path, CONFIG_FILE_DEFAULT))
                        dropin_dirs = system_dirs;
                else {
                        if (asprintf(&dir, "%s.d", path) < 0)
                                return -ENOMEM;
                        own_dirs[0] = dir;
                        dropin_dirs = own_dirs;
                }
        }

        if (required || stat(path, &st) >= 0 || errno != ENOENT) {
                r = parse_file(&p, path, ret_error, ret_error_file);
                if (r < 0)
                        goto finish;
        }

        r = ini_conf_files_list(dropin_dirs, &dropins, ret_error, &error_dir);
        if (r < 0) {
                if (ret_error_file && error_dir)
                        *ret_error_file = strdup(error_dir);
                goto finish;
        }
        for (char **f = dropins; *f; f++) {
                r = parse_file(&p, *f, ret_error, ret_error_file);
                if (r < 0)
                        goto finish;
        }
        r = parse_credential(&p, credentials_dir, ret_error, ret_error_file);
        if (r < 0)
                goto finish;

        if (c->import_daxctl) {
                r = daxctl_import(c, c->daxctl_config_dir ?: DAXCTL_CONFIG_DIR_DEFAULT, ret_error,
                                  ret_error_file);
                if (r < 0)
                        goto finish;
        }

        /* What a [Node N] section does not say, [Memory] does, and where [Memory] got it from. */
        for (size_t i = 0; i < c->n_nodes; i++) {
                NodePolicy *n = &c->nodes[i];

                if (n->online < 0) {
                        n->online = c->online;
                        node_inherit_origin(c, n, "Online");
                }
                if (n->movable_ratio == UINT_MAX) {
                        n->movable_ratio = c->movable_ratio;
                        node_inherit_origin(c, n, "MovableRatio");
                }
                if (n->numa_aware < 0) {
                        n->numa_aware = c->numa_aware;
                        node_inherit_origin(c, n, "NumaAware");
                }
        }

        *ret = TAKE_PTR(c);
        r = 0;
finish:
        free(p.rule_slots);
        return r;
}

int config_load(const char *path, bool required, Config **ret, char **ret_error)
{
        assert(path);
        assert(ret);
        assert(ret_error);

        return config_load_full(path, required, NULL, NULL, ret, ret_error, NULL);
}

int config_error_for_log(int r)
{
        /* The loader's own errnos; it passes a failed system call's on through negative_errno(). */
        switch (-r) {
        case EINVAL: /* ini_fail(): a value, key, section, syntax, line or rule count */
        case E2BIG:  /* too many drop-ins, or too many rules with daxctl's */
        case EFBIG:  /* a file over INI_FILE_SIZE_MAX */
        case EBADFD: /* not a regular file (a FIFO, a device) */
        case ENOKEY: /* a daxctl section without nvdimm.uuid= */
                return -SYNTHETIC_ERRNO(-r);
        default:
                return r;
        }
}

static const char *yes_no(bool b)
{
        return b ? "yes" : "no";
}

/* "# FILE:LINE" before a setting made in a file; nothing before a built-in default. */
static void fprint_origin(FILE *f, const Config *c, const char *prefix, ConfigOrigin o)
{
        if (o.file == 0 || o.file > c->n_files)
                return;
        if (o.file == c->credential_file)
                fprintf(f, "%s# credential %s:%" PRIu32 "\n", prefix, CONFIG_CREDENTIAL, o.line);
        else
                fprintf(f, "%s# %s:%" PRIu32 "\n", prefix, c->files[o.file - 1], o.line);
}

/* One setting: its origin, then KEY=VALUE (fmt makes the value). */
static _printf_(6, 7) void fprint_key(FILE *f, const Config *c, const char *prefix, const char *key,
                                      ConfigOrigin origin, const char *fmt, ...)
{
        va_list ap;

        fprint_origin(f, c, prefix, origin);
        fprintf(f, "%s%s=", prefix, key);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
}

/* A rule's keys by their slot: a dump of thousands of rules looks none of them up. */
#define RULE_KEY(slot, name, ...) fprint_key(f, c, p, name, r->origin[slot], __VA_ARGS__)

static void dax_rule_dump(const Config *c, const DaxRule *r, FILE *f)
{
        /* Imported daxctl rules are shown as comments: they come from daxctl's files, not ours. */
        const char *p = strncmp(r->name, "daxctl:", 7) == 0 ? "# " : "";

        fprintf(f, "\n%s[Dax %s]\n", p, r->name);
        if (r->match_device)
                RULE_KEY(DAX_KEY_MATCH_DEVICE, "MatchDevice", "%s", r->match_device);
        if (r->match_source) {
                char sources[64] = "";

                for (DaxSource d = DAX_SOURCE_CXL; d <= DAX_SOURCE_NVDIMM; d <<= 1)
                        if (r->match_source & d) {
                                if (sources[0])
                                        strcat(sources, " ");
                                strcat(sources, dax_source_to_string(d));
                        }
                RULE_KEY(DAX_KEY_MATCH_SOURCE, "MatchSource", "%s", sources);
        }
        if (r->match_node >= 0)
                RULE_KEY(DAX_KEY_MATCH_NODE, "MatchNode", "%d", r->match_node);
        if (r->match_tier >= 0)
                RULE_KEY(DAX_KEY_MATCH_TIER, "MatchMemoryTier", "%d", r->match_tier);
        if (r->match_node_cpus >= 0)
                RULE_KEY(DAX_KEY_MATCH_NODE_CPUS, "MatchNodeCPUs", "%s", yes_no(r->match_node_cpus));
        if (r->match_size.min > 0 || r->match_size.max < UINT64_MAX) {
                char min[32] = "", max[32] = "";

                if (r->match_size.min > 0)
                        snprintf(min, sizeof(min), "%" PRIu64, r->match_size.min);
                if (r->match_size.max < UINT64_MAX)
                        snprintf(max, sizeof(max), "%" PRIu64, r->match_size.max);
                RULE_KEY(DAX_KEY_MATCH_SIZE, "MatchSize", "%s-%s", min, max);
        }
        if (r->match_cxl_serial != UINT64_MAX)
                RULE_KEY(DAX_KEY_MATCH_CXL_SERIAL, "MatchCXLSerial", "0x%" PRIx64, r->match_cxl_serial);
        if (r->match_cxl_region)
                RULE_KEY(DAX_KEY_MATCH_CXL_REGION, "MatchCXLRegion", "%s", r->match_cxl_region);
        if (r->match_nvdimm_uuid)
                RULE_KEY(DAX_KEY_MATCH_NVDIMM_UUID, "MatchNvdimmUUID", "%s", r->match_nvdimm_uuid);
        if (r->mode >= 0)
                RULE_KEY(DAX_KEY_MODE, "Mode", "%s", dax_mode_to_string(r->mode));
        if (r->memmap >= 0)
                RULE_KEY(DAX_KEY_MEMMAP, "MemmapOnMemory", "%s", memmap_mode_to_string(r->memmap));
        if (r->online >= 0)
                RULE_KEY(DAX_KEY_ONLINE, "Online", "%s", online_type_to_string(r->online));
}

/* Exact, in the grammar parse_sec() reads back: "%g" would print 1e+06s or round. */
static const char *format_sec(char buf[static 32], uint64_t usec)
{
        if (usec % USEC_PER_SEC == 0)
                snprintf(buf, 32, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else if (usec % USEC_PER_MSEC == 0)
                snprintf(buf, 32, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        else
                snprintf(buf, 32, "%" PRIu64 "us", usec);
        return buf;
}

#define OWN_KEY(section, name, ...)                                                                         \
        fprint_key(f, c, "", name, c->origin[config_key_find(section, name)->slot], __VA_ARGS__)
#define NODE_KEY(name, ...)                                                                                 \
        fprint_key(f, c, "", name, n->origin[config_key_find("Node", name)->slot], __VA_ARGS__)
#define DAX_DEFAULT(slot, name, ...) fprint_key(f, c, "", name, c->dax.origin[slot], __VA_ARGS__)

int config_dump(const Config *c, FILE *f)
{
        char buf[32];

        assert(c);
        assert(f);

        /* One per line, in the order read: the last one that sets a key decides it. */
        fprintf(f, "# Files read, in order:%s\n", c->n_files == 0 ? " none, built-in defaults" : "");
        for (size_t i = 0; i < c->n_files; i++)
                fprintf(f, "#   %s%s\n", c->files[i],
                        i + 1 == c->credential_file ? " (credential " CONFIG_CREDENTIAL ")" : "");
        if (c->n_files > 0)
                fprintf(f, "# A setting made in a file has the file and line on the line above it;\n"
                           "# the others are the built-in defaults.\n");
        fprintf(f, "\n[Daemon]\n");
        OWN_KEY("Daemon", "ChunkBlocks", "%u", c->chunk_blocks);
        OWN_KEY("Daemon", "ChunkPauseSec", "%s", format_sec(buf, c->chunk_pause_usec));
        OWN_KEY("Daemon", "ScanAtStart", "%s", yes_no(c->scan_at_start));
        OWN_KEY("Daemon", "LockMemory", "%s", yes_no(c->lock_memory));
        OWN_KEY("Daemon", "KernelAutoOnline", "%s", kernel_auto_online_to_string(c->kernel_auto_online));
        OWN_KEY("Daemon", "Demotion", "%s", demotion_mode_to_string(c->demotion));
        OWN_KEY("Daemon", "UeventSource", "%s", uevent_source_to_string(c->uevent_source));
        OWN_KEY("Daemon", "LogLevel", "%s", c->log_level >= 0 ? log_level_to_string(c->log_level) : "info");
        OWN_KEY("Daemon", "MaxAttempts", "%u", c->max_attempts);
        OWN_KEY("Daemon", "RetrySec", "%s", format_sec(buf, c->retry_usec));
        OWN_KEY("Daemon", "OfflineTimeoutSec", "%s", format_sec(buf, c->offline_timeout_usec));
        OWN_KEY("Daemon", "MetricsFile", "%s",
                !c->metrics_file     ? METRICS_FILE_DEFAULT
                : c->metrics_file[0] ? c->metrics_file
                                     : "no");
        fprintf(f, "\n[Memory]\n");
        OWN_KEY("Memory", "Online", "%s", online_type_to_string(c->online));
        OWN_KEY("Memory", "MovableRatio", "%u", c->movable_ratio);
        OWN_KEY("Memory", "NumaAware", "%s", yes_no(c->numa_aware));
        for (size_t i = 0; i < c->n_nodes; i++) {
                const NodePolicy *n = &c->nodes[i];

                fprintf(f, "\n[Node %u]\n", n->node);
                NODE_KEY("Online", "%s", online_type_to_string(n->online));
                NODE_KEY("MovableRatio", "%u", n->movable_ratio);
                NODE_KEY("NumaAware", "%s", yes_no(n->numa_aware > 0));
        }
        fprintf(f, "\n[Dax]\n");
        DAX_DEFAULT(DAX_KEY_MODE, "Mode", "%s", dax_mode_to_string(c->dax.mode));
        DAX_DEFAULT(DAX_KEY_MEMMAP, "MemmapOnMemory", "%s", memmap_mode_to_string(c->dax.memmap));
        DAX_DEFAULT(DAX_KEY_ONLINE, "Online", "%s", online_type_to_string(c->dax.online));
        OWN_KEY("Dax", "ImportDaxctlConfig", "%s", yes_no(c->import_daxctl));
        OWN_KEY("Dax", "DaxctlConfigDirectory", "%s", c->daxctl_config_dir ?: DAXCTL_CONFIG_DIR_DEFAULT);
        for (size_t i = 0; i < c->n_dax_rules; i++)
                dax_rule_dump(c, &c->dax_rules[i], f);
        return fflush(f) == 0 ? 0 : negative_errno();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json-writer.h"
#include "status-placement.h"

/* memhotplugctl status: the Manager's properties, fetched with one GetAll. */

typedef struct NodeBytes {
        int32_t node;
        uint64_t present, online, offline;
} NodeBytes;

typedef struct NodeTier {
        int32_t node, tier;
        int cpus;
} NodeTier;

typedef struct ZoneBytes {
        const char *zone;
        uint64_t bytes;
} ZoneBytes;

/* Strings point into the reply message, which outlives this. A property an older daemon lacks
 * stays NULL (shown as "n/a") or at its initial value. */
typedef struct StatusInfo {
        const char *version, *kernel_auto_online, *kernel_auto_online_mode, *kernel_auto_online_fallback;
        const char *kernel_online_policy;
        const char *memmap_on_memory, *online_policy, *last_config_error;
        const char *demotion, *demotion_mode, *platform_default;
        uint64_t block_size, present, online, offline;
        int64_t memmap_pages, memmap_boot_pages;
        uint32_t chunk_blocks, blocks_onlined, blocks_failed, drift_blocks;
        uint32_t job_done, job_failed, job_total;
        NodeBytes *nodes;
        size_t n_nodes;
        ZoneBytes *zones;
        size_t n_zones;
        NodeTier *tiers;
        size_t n_tiers;
        char **config_files;
        char **tiering_warnings;
        StatusPlacement placement;
} StatusInfo;

static void status_info_done(StatusInfo *s)
{
        free(s->nodes);
        free(s->zones);
        free(s->tiers);
        strv_free(s->config_files);
        strv_free(s->tiering_warnings);
        status_placement_done(&s->placement);
}

static int read_zones(sd_bus_message *m, StatusInfo *s)
{
        const char *zone;
        uint64_t bytes;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(st)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(st)", &zone, &bytes)) > 0) {
                ZoneBytes *z = realloc(s->zones, (s->n_zones + 1) * sizeof(ZoneBytes));

                if (!z)
                        return -ENOMEM;
                s->zones = z;
                s->zones[s->n_zones++] = (ZoneBytes){ zone, bytes };
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_nodes(sd_bus_message *m, StatusInfo *s)
{
        NodeBytes n;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ittt)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ittt)", &n.node, &n.present, &n.online, &n.offline)) > 0) {
                NodeBytes *l = realloc(s->nodes, (s->n_nodes + 1) * sizeof(NodeBytes));

                if (!l)
                        return -ENOMEM;
                s->nodes = l;
                s->nodes[s->n_nodes++] = n;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_tiers(sd_bus_message *m, StatusInfo *s)
{
        NodeTier t;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(iib)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(iib)", &t.node, &t.tier, &t.cpus)) > 0) {
                NodeTier *l = realloc(s->tiers, (s->n_tiers + 1) * sizeof(NodeTier));

                if (!l)
                        return -ENOMEM;
                s->tiers = l;
                s->tiers[s->n_tiers++] = t;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_property(sd_bus_message *m, const char *name, const char *contents, void *userdata)
{
        static const struct {
                const char *name;
                const char *type;
                size_t offset;
        } simple[] = {
                { "Version", "s", offsetof(StatusInfo, version) },
                { "BlockSize", "t", offsetof(StatusInfo, block_size) },
                { "KernelAutoOnline", "s", offsetof(StatusInfo, kernel_auto_online) },
                { "KernelAutoOnlineMode", "s", offsetof(StatusInfo, kernel_auto_online_mode) },
                { "KernelAutoOnlineFallback", "s", offsetof(StatusInfo, kernel_auto_online_fallback) },
                { "KernelOnlinePolicy", "s", offsetof(StatusInfo, kernel_online_policy) },
                { "MemmapOnMemory", "s", offsetof(StatusInfo, memmap_on_memory) },
                { "Demotion", "s", offsetof(StatusInfo, demotion) },
                { "DemotionMode", "s", offsetof(StatusInfo, demotion_mode) },
                { "MemmapPages", "x", offsetof(StatusInfo, memmap_pages) },
                { "MemmapBootPages", "x", offsetof(StatusInfo, memmap_boot_pages) },
                { "PresentBytes", "t", offsetof(StatusInfo, present) },
                { "OnlineBytes", "t", offsetof(StatusInfo, online) },
                { "OfflineBytes", "t", offsetof(StatusInfo, offline) },
                { "OnlinePolicy", "s", offsetof(StatusInfo, online_policy) },
                { "PlatformDefault", "s", offsetof(StatusInfo, platform_default) },
                { "DriftBlocks", "u", offsetof(StatusInfo, drift_blocks) },
                { "ChunkBlocks", "u", offsetof(StatusInfo, chunk_blocks) },
                { "LastConfigError", "s", offsetof(StatusInfo, last_config_error) },
                { "BlocksOnlined", "u", offsetof(StatusInfo, blocks_onlined) },
                { "BlocksFailed", "u", offsetof(StatusInfo, blocks_failed) },
        };
        StatusInfo *s = userdata;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(simple); i++)
                if (streq(name, simple[i].name) && streq(contents, simple[i].type))
                        return sd_bus_message_read(m, "v", simple[i].type, (uint8_t *)s + simple[i].offset);

        if (streq(name, "JobProgress") && streq(contents, BUS_JOB_PROGRESS))
                return sd_bus_message_read(m, "v", BUS_JOB_PROGRESS, &s->job_done, &s->job_failed,
                                           &s->job_total);

        if (streq(name, "NodePlacement") && streq(contents, "a" BUS_NODE_PLACEMENT))
                return status_placement_read(m, &s->placement);
        if (streq(name, "HotAddHeadroom") && streq(contents, "a" BUS_HOTADD_HEADROOM))
                return status_headroom_read(m, &s->placement);

        /* Properties we do not know, or whose type changed: skipped, not fatal. */
        if (!(streq(name, "ZoneOnlineBytes") && streq(contents, "a(st)")) &&
            !(streq(name, "NodeBytes") && streq(contents, "a(ittt)")) &&
            !(streq(name, "NodeTiers") && streq(contents, "a(iib)")) &&
            !(streq(name, "TieringWarnings") && streq(contents, "as")) &&
            !(streq(name, "ConfigFiles") && streq(contents, "as")))
                return sd_bus_message_skip(m, "v");

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        if (streq(name, "ZoneOnlineBytes"))
                r = read_zones(m, s);
        else if (streq(name, "NodeBytes"))
                r = read_nodes(m, s);
        else if (streq(name, "NodeTiers"))
                r = read_tiers(m, s);
        else if (streq(name, "TieringWarnings"))
                r = sd_bus_message_read_strv(m, &s->tiering_warnings);
        else
                r = sd_bus_message_read_strv(m, &s->config_files);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

#define LABEL_WIDTH 20

static void field(const char *label, const char *format, ...) _printf_(2, 3);
static void field(const char *label, const char *format, ...)
{
        va_list ap;

        /* Right-aligned labels, as hostnamectl prints them; NULL continues the previous field. */
        if (label)
                printf("%*s: ", LABEL_WIDTH, label);
        else
                printf("%*s  ", LABEL_WIDTH, "");
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
}

static const char *empty_to_na(const char *s)
{
        return s && *s ? s : "n/a";
}

/* "12345 pages (48.2M)", or "n/a" where the kernel does not count them (before Linux 6.11). */
static const char *format_pages(char *buf, size_t size, int64_t pages)
{
        char b[FORMAT_BYTES_MAX];
        long page_size = sysconf(_SC_PAGESIZE);

        if (pages < 0)
                return "n/a";
        snprintf(buf, size, "%" PRIi64 " pages (%s)", pages,
                 format_bytes(b, (uint64_t)pages * (uint64_t)(page_size > 0 ? page_size : 4096)));
        return buf;
}

static const NodeTier *find_tier(const StatusInfo *s, int32_t node)
{
        for (size_t i = 0; i < s->n_tiers; i++)
                if (s->tiers[i].node == node)
                        return &s->tiers[i];
        return NULL;
}

static void print_human(const StatusInfo *s)
{
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX];
        char pages[64], boot_pages[64];

        field("Version", "memhotplugd %s", empty_to_na(s->version));
        field("Block size", "%s", format_bytes(a, s->block_size));
        field("Kernel auto-online", "%s (KernelAutoOnline=%s)", empty_to_na(s->kernel_auto_online),
              empty_to_na(s->kernel_auto_online_mode));
        if (s->kernel_auto_online_fallback && s->kernel_auto_online_fallback[0])
                field(NULL, "takeover not possible: %s", s->kernel_auto_online_fallback);
        field("Kernel online policy", "%s", empty_to_na(s->kernel_online_policy));
        field("Memmap on memory", "%s", empty_to_na(s->memmap_on_memory));
        if (s->memmap_pages < 0 && s->memmap_boot_pages < 0)
                field("Memmap pages", "n/a");
        else
                field("Memmap pages", "%s, at boot %s", format_pages(pages, sizeof(pages), s->memmap_pages),
                      format_pages(boot_pages, sizeof(boot_pages), s->memmap_boot_pages));

        field("Memory", "%s present, %s online, %s offline", format_bytes(a, s->present),
              format_bytes(b, s->online), format_bytes(c, s->offline));
        for (size_t i = 0; i < s->n_nodes; i++) {
                const NodeBytes *n = &s->nodes[i];
                char label[32];

                if (n->node < 0)
                        snprintf(label, sizeof(label), "No node");
                else
                        snprintf(label, sizeof(label), "Node %" PRIi32, n->node);
                const NodeTier *t = find_tier(s, n->node);
                char tier[64] = "";

                if (t)
                        snprintf(tier, sizeof(tier), "; memory_tier%" PRIi32 "%s", t->tier,
                                 t->cpus ? "" : ", no CPUs");
                field(label, "%s present, %s online, %s offline%s", format_bytes(a, n->present),
                      format_bytes(b, n->online), format_bytes(c, n->offline), tier);
        }
        field("Demotion", "%s (Demotion=%s)", empty_to_na(s->demotion), empty_to_na(s->demotion_mode));
        for (size_t i = 0; s->tiering_warnings && s->tiering_warnings[i]; i++)
                field(i == 0 ? "Warning" : NULL, "%s", s->tiering_warnings[i]);
        if (s->n_zones == 0)
                field("Online by zone", "none");
        for (size_t i = 0; i < s->n_zones; i++)
                field(i == 0 ? "Online by zone" : NULL, "%-8s %s", s->zones[i].zone,
                      format_bytes(a, s->zones[i].bytes));

        field("Policy", "Online=%s, ChunkBlocks=%" PRIu32, empty_to_na(s->online_policy), s->chunk_blocks);
        field("Platform default", "Online=%s", empty_to_na(s->platform_default));
        status_placement_print(&s->placement, field);
        if (s->drift_blocks > 0)
                field("Drift",
                      "%" PRIu32 " online block(s) in a zone the policy would not choose: memhotplugctl "
                      "plan, rezone",
                      s->drift_blocks);
        if (!s->config_files || !s->config_files[0])
                field("Config files", "none (built-in defaults)");
        for (size_t i = 0; s->config_files && s->config_files[i]; i++)
                field(i == 0 ? "Config files" : NULL, "%s", s->config_files[i]);
        if (s->last_config_error && *s->last_config_error)
                field("Config error", "%s", s->last_config_error);

        /* done counts successes only; the daemon's own status line says done+failed of total. */
        if (s->job_total == 0)
                field("Job", "idle");
        else if (s->job_failed > 0)
                field("Job", "%" PRIu32 "/%" PRIu32 " blocks handled, %" PRIu32 " failed",
                      s->job_done + s->job_failed, s->job_total, s->job_failed);
        else
                field("Job", "%" PRIu32 "/%" PRIu32 " blocks done", s->job_done, s->job_total);
        field("Since start", "%" PRIu32 " block%s onlined, %" PRIu32 " failed", s->blocks_onlined,
              s->blocks_onlined == 1 ? "" : "s", s->blocks_failed);
}

static void json_pages(JsonWriter *w, const char *key, int64_t pages)
{
        json_key(w, key);
        if (pages < 0)
                json_null(w);
        else
                json_signed(w, pages);
}

static int print_json(const StatusInfo *s, JsonMode mode)
{
        JsonWriter w;

        json_init(&w, stdout, mode == JSON_PRETTY);
        json_begin_object(&w);
        json_field_string(&w, "Version", s->version);
        json_field_unsigned(&w, "BlockSize", s->block_size);
        json_field_string(&w, "KernelAutoOnline", s->kernel_auto_online);
        json_field_string(&w, "KernelAutoOnlineMode", s->kernel_auto_online_mode);
        json_field_string(&w, "KernelAutoOnlineFallback", s->kernel_auto_online_fallback);
        json_field_string(&w, "KernelOnlinePolicy", s->kernel_online_policy);
        json_field_string(&w, "MemmapOnMemory", s->memmap_on_memory);
        json_pages(&w, "MemmapPages", s->memmap_pages);
        json_pages(&w, "MemmapBootPages", s->memmap_boot_pages);
        json_field_unsigned(&w, "PresentBytes", s->present);
        json_field_unsigned(&w, "OnlineBytes", s->online);
        json_field_unsigned(&w, "OfflineBytes", s->offline);

        json_key(&w, "NodeBytes");
        json_begin_array(&w);
        for (size_t i = 0; i < s->n_nodes; i++) {
                json_begin_object(&w);
                json_key(&w, "Node");
                if (s->nodes[i].node < 0)
                        json_null(&w);
                else
                        json_signed(&w, s->nodes[i].node);
                json_field_unsigned(&w, "PresentBytes", s->nodes[i].present);
                json_field_unsigned(&w, "OnlineBytes", s->nodes[i].online);
                json_field_unsigned(&w, "OfflineBytes", s->nodes[i].offline);
                json_end_object(&w);
        }
        json_end_array(&w);

        json_key(&w, "NodeTiers");
        json_begin_array(&w);
        for (size_t i = 0; i < s->n_tiers; i++) {
                json_begin_object(&w);
                json_key(&w, "Node");
                json_signed(&w, s->tiers[i].node);
                json_key(&w, "Tier");
                json_signed(&w, s->tiers[i].tier);
                json_key(&w, "CPUs");
                json_bool(&w, s->tiers[i].cpus);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_field_string(&w, "Demotion", s->demotion);
        json_field_string(&w, "DemotionMode", s->demotion_mode);
        json_key(&w, "TieringWarnings");
        json_begin_array(&w);
        for (size_t i = 0; s->tiering_warnings && s->tiering_warnings[i]; i++)
                json_string(&w, s->tiering_warnings[i]);
        json_end_array(&w);

        json_key(&w, "ZoneOnlineBytes");
        json_begin_array(&w);
        for (size_t i = 0; i < s->n_zones; i++) {
                json_begin_object(&w);
                json_field_string(&w, "Zone", s->zones[i].zone);
                json_field_unsigned(&w, "OnlineBytes", s->zones[i].bytes);
                json_end_object(&w);
        }
        json_end_array(&w);

        json_field_string(&w, "OnlinePolicy", s->online_policy);
        json_field_string(&w, "PlatformDefault", s->platform_default);
        status_placement_json(&s->placement, &w);
        json_field_unsigned(&w, "DriftBlocks", s->drift_blocks);
        json_field_unsigned(&w, "ChunkBlocks", s->chunk_blocks);
        json_key(&w, "ConfigFiles");
        json_begin_array(&w);
        for (size_t i = 0; s->config_files && s->config_files[i]; i++)
                json_string(&w, s->config_files[i]);
        json_end_array(&w);
        json_field_string(&w, "LastConfigError", s->last_config_error);

        json_key(&w, "JobProgress");
        json_begin_object(&w);
        json_field_unsigned(&w, "Done", s->job_done);
        json_field_unsigned(&w, "Failed", s->job_failed);
        json_field_unsigned(&w, "Total", s->job_total);
        json_end_object(&w);
        json_field_unsigned(&w, "BlocksOnlined", s->blocks_onlined);
        json_field_unsigned(&w, "BlocksFailed", s->blocks_failed);
        json_end_object(&w);
        return json_finish(&w);
}

int verb_status(Context *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(status_info_done) StatusInfo s = {
                .memmap_pages = -1,
                .memmap_boot_pages = -1,
        };
        int r;

        assert(c);

        r = bus_get_manager_properties(c, &reply);
        if (r < 0)
                return r;
        r = bus_read_properties(reply, read_property, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the daemon's properties: %m");

        if (c->json != JSON_OFF)
                return print_json(&s, c->json);
        print_human(&s);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "bus-internal.h"
#include "bus.h"
#include "dax.h"
#include "devices.h"
#include "kernel-auto.h"
#include "kernel-info.h"
#include "log.h"
#include "memblock.h"
#include "metrics.h"
#include "onliner.h"
#include "placement-facts.h"

/* org.memhotplug1.Manager on /org/memhotplug1. */

#define BLOCKS_PER_CALL_MAX 65536u

int bus_sender_uid(sd_bus_message *message, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        assert(message);
        assert(ret);

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, ret);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, ret);
        return r;
}

int bus_check_root(sd_bus_message *message, const char *what, sd_bus_error *error)
{
        uid_t uid;
        int r;

        assert(message);
        assert(what);
        assert(error);

        /* The bus policy already keeps others out; this is the second lock on the same door. */
        r = bus_sender_uid(message, &uid);
        if (r < 0)
                return r;
        if (uid != 0)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_PERMITTED, "Only root may %s.", what);
        return 0;
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", PROJECT_VERSION);
}

static int property_get_string_or_empty(sd_bus *bus, const char *path, const char *interface,
                                        const char *property, sd_bus_message *reply, void *userdata,
                                        sd_bus_error *error)
{
        char *const *s = userdata;

        return sd_bus_message_append(reply, "s", *s ?: "");
}

static int property_get_kernel_auto_online(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply, void *userdata,
                                           sd_bus_error *error)
{
        Manager *m = userdata;
        char buf[32];

        if (memory_read_auto_online(m->sysfs, buf, sizeof(buf)) < 0)
                buf[0] = '\0';
        return sd_bus_message_append(reply, "s", buf);
}

static int property_get_kernel_auto_fallback(sd_bus *bus, const char *path, const char *interface,
                                             const char *property, sd_bus_message *reply, void *userdata,
                                             sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", kernel_auto_fallback(userdata) ?: "");
}

static int property_get_config(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        /* The mode in effect: respect when takeover was configured but could not be done. */
        if (streq(property, "KernelAutoOnlineMode"))
                return sd_bus_message_append(reply, "s", kernel_auto_online_to_string(kernel_auto_mode(m)));
        if (streq(property, "OnlinePolicy"))
                return sd_bus_message_append(reply, "s", online_type_to_string(m->config->online));
        if (streq(property, "ChunkBlocks"))
                return sd_bus_message_append(reply, "u", m->config->chunk_blocks);
        /* ConfigFiles: config->files is counted by n_files, not NULL-terminated. */
        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->config->n_files; i++) {
                r = sd_bus_message_append(reply, "s", m->config->files[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_hotplug_param(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        Manager *m = userdata;
        char buf[64];
        int r;

        if (streq(property, "KernelOnlinePolicy")) {
                if (kernel_read_hotplug_param(m->sysfs, "online_policy", buf, sizeof(buf)) < 0)
                        buf[0] = '\0';
                return sd_bus_message_append(reply, "s", buf);
        }

        /* MemmapOnMemory: the module parameter says Y, N or force; older kernels lack it. */
        r = kernel_read_hotplug_param(m->sysfs, "memmap_on_memory", buf, sizeof(buf));
        return sd_bus_message_append(reply, "s",
                                     r < 0                 ? "unsupported"
                                     : streq(buf, "Y")     ? "yes"
                                     : streq(buf, "N")     ? "no"
                                     : streq(buf, "force") ? "force"
                                                           : buf);
}

static int property_get_vmstat(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        char vmstat[PATH_MAX];
        uint64_t v;

        snprintf(vmstat, sizeof(vmstat), "%s/vmstat", m->options.proc_root);
        if (kernel_read_vmstat(vmstat,
                               streq(property, "MemmapPages") ? "nr_memmap_pages" : "nr_memmap_boot_pages",
                               &v) < 0)
                return sd_bus_message_append(reply, "x", (int64_t)-1);
        return sd_bus_message_append(reply, "x", (int64_t)v);
}

static void totals(Manager *m, uint64_t *present, uint64_t *online)
{
        *present = *online = 0;
        for (size_t i = 0; i < m->n_blocks; i++)
                if (block_known(&m->blocks[i])) {
                        *present += m->block_size;
                        if (m->blocks[i].state == BLOCK_ONLINE)
                                *online += m->block_size;
                }
}

static int property_get_bytes(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        uint64_t present, online;

        totals(userdata, &present, &online);
        return sd_bus_message_append(reply, "t",
                                     streq(property, "PresentBytes")  ? present
                                     : streq(property, "OnlineBytes") ? online
                                                                      : present - online);
}

static int property_get_zone_bytes(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(st)");
        if (r < 0)
                return r;
        for (Zone z = ZONE_DMA; z <= ZONE_DEVICE; z <<= 1) {
                uint64_t bytes = 0;

                for (size_t i = 0; i < m->n_blocks; i++)
                        if (block_known(&m->blocks[i]) && m->blocks[i].state == BLOCK_ONLINE &&
                            m->blocks[i].zone == z)
                                bytes += m->block_size;
                if (bytes == 0)
                        continue;
                r = sd_bus_message_append(reply, "(st)", zone_to_string(z), bytes);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_node_bytes(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        _cleanup_(freep) uint64_t *present = NULL, *online = NULL;
        Manager *m = userdata;
        int max_node = -1, r;

        for (size_t i = 0; i < m->n_blocks; i++)
                if (block_known(&m->blocks[i]) && m->blocks[i].node > max_node)
                        max_node = m->blocks[i].node;
        /* One pass over the blocks, by node + 1: node -1 collects the blocks whose node the kernel
         * does not show. */
        present = calloc((size_t)max_node + 2, sizeof(uint64_t));
        online = calloc((size_t)max_node + 2, sizeof(uint64_t));
        if (!present || !online)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_blocks; i++) {
                const Block *b = &m->blocks[i];

                if (!block_known(b) || b->node < -1)
                        continue;
                present[b->node + 1] += m->block_size;
                if (b->state == BLOCK_ONLINE)
                        online[b->node + 1] += m->block_size;
        }

        r = sd_bus_message_open_container(reply, 'a', "(ittt)");
        if (r < 0)
                return r;
        for (int node = -1; node <= max_node; node++) {
                if (present[node + 1] == 0)
                        continue;
                r = sd_bus_message_append(reply, "(ittt)", node, present[node + 1], online[node + 1],
                                          present[node + 1] - online[node + 1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->devices->n; i++) {
                _cleanup_(freep) char *p = NULL;

                r = sd_bus_path_encode(BUS_DEVICE_PREFIX, m->devices->list[i].dax->name, &p);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "o", p);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_job(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const Job *job = onliner_job(m->onliner);

        return sd_bus_message_append(reply, BUS_JOB_PROGRESS, job->done, job->failed, job->total);
}

static int property_get_totals(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        unsigned onlined, failed;

        onliner_totals(m->onliner, &onlined, &failed);
        return sd_bus_message_append(reply, "u", streq(property, "BlocksOnlined") ? onlined : failed);
}

static int bus_append_block_row(Manager *m, sd_bus_message *reply, unsigned index)
{
        const Block *b = &m->blocks[index];
        char rule[32];

        manager_block_rule(m, b->node, rule, sizeof(rule));
        return sd_bus_message_append(reply, BUS_ROW_BLOCK, index, b->node, block_state_to_string(b->state),
                                     b->zone ? zone_to_string(b->zone) : "", (uint64_t)index * m->block_size,
                                     m->block_size, manager_block_removable(m, index), rule);
}

static int append_block_rows(sd_bus_message *reply, void *userdata)
{
        Manager *m = userdata;
        int r;

        for (size_t i = 0; i < m->n_blocks; i++) {
                if (!block_known(&m->blocks[i]))
                        continue;
                r = bus_append_block_row(m, reply, (unsigned)i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_list_blocks(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return bus_reply_rows(message, BUS_ROW_BLOCK, append_block_rows, userdata);
}

static int append_plan_rows(sd_bus_message *reply, void *userdata)
{
        Manager *m = userdata;
        PlacementView *v;
        int r;

        /* One look at the counts for all rows: each row is then worked out on them. */
        r = placement_view(m, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_blocks; i++) {
                const Block *b = &m->blocks[i];
                const char *attr, *note = "";
                const QueuedWhy *why;
                BlockFacts f;
                Decision d;

                if (!block_known(b))
                        continue;
                if (b->state == BLOCK_ONLINE) {
                        r = bus_append_drift_row(m, v, reply, (unsigned)i);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* A dry run on fresh facts: what a rescan would do now. */
                if (memblock_read(m->sysfs, (unsigned)i, b->node, &f, &attr) < 0 || f.state == BLOCK_ONLINE)
                        continue;
                (void)placement_view_decide(m, v, (unsigned)i, &f, &d);
                if (block_held(b)) {
                        /* The policy would online it, but it was offlined on purpose. */
                        d.action = ACTION_NONE;
                        d.zone = 0;
                        note = "offlined on purpose (by request or by someone else): left alone until "
                               "re-added "
                               "or onlined by request";
                } else if (b->life == BLOCK_LIFE_QUEUED) {
                        note = "queued";
                        /* What it was queued with: the dry run counts its own queued group. */
                        why = blocks_queued_why(m, (unsigned)i);
                        if (why) {
                                d = (Decision){
                                        .action = ACTION_ONLINE,
                                        .type = why->type,
                                        .zone = why->zone,
                                        .basis = why->basis,
                                        .asked = why->asked,
                                        .have_valid_zones = why->have_valid_zones,
                                        .placement = why->placement,
                                };
                                snprintf(d.rule, sizeof(d.rule), "%s", why->rule);
                                decision_format_reason(&d);
                        }
                } else if (b->life == BLOCK_LIFE_FAILED)
                        note = BUS_PLAN_NOTE_FAILED;
                r = sd_bus_message_append(reply, BUS_ROW_PLAN, (unsigned)i, f.node,
                                          action_to_string(d.action),
                                          d.action == ACTION_ONLINE ? online_type_to_string(d.type) : "",
                                          d.zone ? zone_to_string(d.zone) : "", d.rule, d.reason, note);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_plan(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return bus_reply_rows(message, BUS_ROW_PLAN, append_plan_rows, userdata);
}

static int cmp_unsigned(const void *a, const void *b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

        return x < y ? -1 : x > y;
}

/* Reads "au", sorted and without duplicates, each an existing block. */
static int read_blocks(Manager *m, sd_bus_message *message, unsigned **ret, size_t *ret_n,
                       sd_bus_error *error)
{
        _cleanup_(freep) unsigned *l = NULL;
        const unsigned *array;
        size_t size, n, k = 0;
        int r;

        r = sd_bus_message_read_array(message, 'u', (const void **)&array, &size);
        if (r < 0)
                return r;
        n = size / sizeof(unsigned);
        if (n == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "No memory blocks given.");
        if (n > BLOCKS_PER_CALL_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_TOO_MANY_BLOCKS,
                                         "%zu blocks in one call; at most %u are accepted.", n,
                                         BLOCKS_PER_CALL_MAX);
        l = malloc(n * sizeof(unsigned));
        if (!l)
                return -ENOMEM;
        memcpy(l, array, n * sizeof(unsigned));
        qsort(l, n, sizeof(unsigned), cmp_unsigned);
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && l[k - 1] == l[i])
                        continue;
                if (!manager_block_present(m, l[i]))
                        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_BLOCK,
                                                 "Memory block %u does not exist.", l[i]);
                l[k++] = l[i];
        }
        *ret = TAKE_PTR(l);
        *ret_n = k;
        return 0;
}

static int method_online_blocks(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) unsigned *blocks = NULL;
        Manager *m = userdata;
        const char *type_str;
        OnlineType type;
        Request *q;
        size_t n;
        int r;

        assert(message);
        assert(m);

        r = bus_check_root(message, "online memory blocks", error);
        if (r < 0)
                return r;
        r = read_blocks(m, message, &blocks, &n, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &type_str);
        if (r < 0)
                return r;
        type = streq(type_str, "auto") ? ONLINE_TYPE_ONLINE : online_type_from_string(type_str);
        /* auto-movable and platform are policies, not a zone to put given blocks in. */
        if (type < 0 || type == ONLINE_TYPE_OFFLINE || type >= ONLINE_TYPE_AUTO_MOVABLE)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ONLINE_TYPE,
                                         "Invalid online type \"%s\": expected movable, kernel or auto.",
                                         type_str);

        r = request_new(m, message, blocks, n, &q);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                request_add_outcome(m, q, blocks[i], onliner_request_online(m, blocks[i], type));
        log_info("Onlining %zu block(s) as %s on request", n, online_type_to_string(type));
        request_answer_if_done(m, q);
        return 1;
}

static int method_offline_blocks(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) unsigned *blocks = NULL;
        Manager *m = userdata;
        Request *q;
        size_t n;
        int r;

        assert(message);
        assert(m);

        r = bus_check_root(message, "offline memory blocks", error);
        if (r < 0)
                return r;
        r = read_blocks(m, message, &blocks, &n, error);
        if (r < 0)
                return r;

        r = request_new(m, message, blocks, n, &q);
        if (r < 0)
                return r;
        log_info("Offlining %zu block(s) on request", n);
        (void)request_offline_blocks(m, q);
        request_answer_if_done(m, q);
        return 1;
}

/* Whether a block of CancelJob stays online: not offlined, and not removed either. */
static bool cancel_stopped(int result)
{
        return result < 0 && result != -ENODEV;
}

/* One row of CancelJob's answer: whether the cancel stopped the block, and what came of it. */
static int append_cancel_row(sd_bus_message *reply, Request *q, size_t i)
{
        char reason[ONLINER_REASON_MAX];
        const char *what;
        int e = q->results[i];

        if (!q->last_in_flight || i + 1 < q->n)
                what = "not started, the block stays online";
        else if (e == 0)
                what = "offlined before the cancel took effect";
        else if (e == -ECANCELED)
                what = "interrupted, the block stays online";
        else
                what = onliner_result_reason(q->manager, q->indices[i], e, reason, sizeof(reason));
        return sd_bus_message_append(reply, BUS_ROW_RESULT, q->indices[i], cancel_stopped(e), what);
}

/* CancelJob's answer, once the write it interrupted has ended: how many blocks stay online because
 * of it, and a row per block. */
static int cancel_done(Manager *m, Request *q)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        unsigned stopped = 0;
        int r;

        r = sd_bus_message_new_method_return(q->message, &reply);
        if (r < 0)
                return r;
        /* The count comes first but is known last: count, then append. */
        for (size_t i = 0; i < q->n; i++)
                stopped += cancel_stopped(q->results[i]);
        r = sd_bus_message_append(reply, "u", stopped);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', BUS_ROW_RESULT);
        if (r < 0)
                return r;
        for (size_t i = 0; i < q->n; i++) {
                r = append_cancel_row(reply, q, i);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        log_info("Cancel done: %u of %zu block(s) stay online because of it", stopped, q->n);
        return sd_bus_send(NULL, reply, NULL);
}

static int method_cancel_job(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) unsigned *blocks = NULL;
        Manager *m = userdata;
        bool inflight;
        Request *q;
        size_t n;
        int r;

        r = bus_check_root(message, "cancel a job", error);
        if (r < 0)
                return r;
        r = onliner_cancel_offline(m, &blocks, &n, &inflight);
        if (r < 0)
                return r;
        log_info("Cancelling the offlining of %zu block(s) on request%s", n,
                 inflight ? ", waiting for the write in flight to end" : "");
        if (n == 0)
                return sd_bus_reply_method_return(message, "ua" BUS_ROW_RESULT, 0, 0);
        /* The answer waits for the write in flight: only its end says whether the kernel offlined the
         * block before the signal reached it. */
        r = request_new(m, message, blocks, n, &q);
        if (r < 0)
                return r;
        q->on_done = cancel_done;
        q->last_in_flight = inflight;
        for (size_t i = 0; i < n - inflight; i++)
                request_settle(m, q, blocks[i], -ECANCELED);
        request_answer_if_done(m, q);
        return 1;
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *config_error = NULL;
        int r;

        r = bus_check_root(message, "reload the configuration", error);
        if (r < 0)
                return r;
        r = manager_reload(m, &config_error);
        if (r < 0 && config_error)
                return sd_bus_error_set(error, BUS_ERROR_CONFIG_INVALID, config_error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_rescan(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = bus_check_root(message, "rescan memory blocks", error);
        if (r < 0)
                return r;
        r = manager_rescan(m);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

/* Open to every user, as the properties it is made of: the text is made at most once per change
 * and is a few lines per node, whatever the number of blocks. */
static int method_get_metrics(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        const char *text;
        int r;

        r = metrics_text(userdata, &text);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "s", text);
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BlockSize", "t", NULL, offsetof(Manager, block_size), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KernelAutoOnline", "s", property_get_kernel_auto_online, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KernelAutoOnlineMode", "s", property_get_config, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KernelAutoOnlineFallback", "s", property_get_kernel_auto_fallback, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KernelOnlinePolicy", "s", property_get_hotplug_param, 0, 0),
        SD_BUS_PROPERTY("MemmapOnMemory", "s", property_get_hotplug_param, 0, 0),
        SD_BUS_PROPERTY("Demotion", "s", bus_property_get_tiering, 0, 0),
        SD_BUS_PROPERTY("DemotionMode", "s", bus_property_get_tiering, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NodeTiers", "a(iib)", bus_property_get_tiering, 0, 0),
        SD_BUS_PROPERTY("TieringWarnings", "as", bus_property_get_tiering, 0, 0),
        SD_BUS_PROPERTY("NodePlacement", "a" BUS_NODE_PLACEMENT, bus_property_get_node_placement, 0, 0),
        SD_BUS_PROPERTY("HotAddHeadroom", "a" BUS_HOTADD_HEADROOM, bus_property_get_hotadd_headroom, 0, 0),
        SD_BUS_PROPERTY("DriftBlocks", "u", bus_property_get_drift_blocks, 0, 0),
        SD_BUS_PROPERTY("PlatformDefault", "s", bus_property_get_platform_default, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MemmapPages", "x", property_get_vmstat, 0, 0),
        SD_BUS_PROPERTY("MemmapBootPages", "x", property_get_vmstat, 0, 0),
        SD_BUS_PROPERTY("PresentBytes", "t", property_get_bytes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OnlineBytes", "t", property_get_bytes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OfflineBytes", "t", property_get_bytes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ZoneOnlineBytes", "a(st)", property_get_zone_bytes, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NodeBytes", "a(ittt)", property_get_node_bytes, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Devices", "ao", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OnlinePolicy", "s", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ChunkBlocks", "u", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigFiles", "as", property_get_config, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastConfigError", "s", property_get_string_or_empty,
                        offsetof(Manager, last_config_error), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("JobProgress", BUS_JOB_PROGRESS, property_get_job, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BlocksOnlined", "u", property_get_totals, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BlocksFailed", "u", property_get_totals, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_NAMES("ListBlocks", "", , "a" BUS_ROW_BLOCK, SD_BUS_PARAM(blocks),
                                 method_list_blocks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Plan", "", , "a" BUS_ROW_PLAN, SD_BUS_PARAM(plan), method_plan,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OnlineBlocks", "aus", SD_BUS_PARAM(blocks) SD_BUS_PARAM(type),
                                 "a" BUS_ROW_RESULT, SD_BUS_PARAM(results), method_online_blocks,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OfflineBlocks", "au", SD_BUS_PARAM(blocks), "a" BUS_ROW_RESULT,
                                 SD_BUS_PARAM(results), method_offline_blocks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListDevices", "", , "a" BUS_ROW_DEVICE, SD_BUS_PARAM(devices),
                                 bus_method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RevertDevice", "s", SD_BUS_PARAM(device), "a" BUS_ROW_RESULT,
                                 SD_BUS_PARAM(results), bus_method_revert_device,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PrepareUnplug", "s", SD_BUS_PARAM(target), "a" BUS_ROW_RESULT,
                                 SD_BUS_PARAM(results), bus_method_prepare_unplug,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CancelJob", "", , "ua" BUS_ROW_RESULT,
                                 SD_BUS_PARAM(cancelled) SD_BUS_PARAM(blocks), method_cancel_job,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMetrics", "", , "s", SD_BUS_PARAM(metrics), method_get_metrics,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Rescan", "", "", method_rescan, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_NAMES("BlockStatesChanged", "a" BUS_ROW_BLOCK_STATE, SD_BUS_PARAM(blocks), 0),
        SD_BUS_SIGNAL_WITH_NAMES("OfflineProgress", "uss",
                                 SD_BUS_PARAM(block) SD_BUS_PARAM(result) SD_BUS_PARAM(reason), 0),
        SD_BUS_SIGNAL_WITH_NAMES("JobFinished", "uuu",
                                 SD_BUS_PARAM(total) SD_BUS_PARAM(done) SD_BUS_PARAM(failed), 0),
        SD_BUS_SIGNAL_WITH_NAMES("CapacityChanged", "tta" BUS_ROW_NODE_BYTES,
                                 SD_BUS_PARAM(sequence) SD_BUS_PARAM(online) SD_BUS_PARAM(nodes), 0),
        SD_BUS_VTABLE_END,
};

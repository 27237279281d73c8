/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "agents.h"
#include "blocks.h"
#include "bus.h"
#include "capacity.h"
#include "caps.h"
#include "devices.h"
#include "event-util.h"
#include "format-util.h"
#include "intake.h"
#include "kernel-auto.h"
#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "memlock.h"
#include "message-ids.h"
#include "onliner.h"
#include "metrics.h"
#include "outcome.h"
#include "offline-marks.h"
#include "placement-facts.h"
#include "platform-facts.h"
#include "read-file.h"
#include "parse-util.h"
#include "tiering.h"
#include "time-constants.h"

Block *manager_block(Manager *m, unsigned index)
{
        /* Every index from outside went through parse_block_name(): "index + 1" cannot wrap. */
        assert(index <= BLOCK_INDEX_MAX);
        assert(m);
        if (index >= m->n_blocks) {
                size_t n = index + 1 > m->n_blocks * 2 ? index + 1 : m->n_blocks * 2;
                Block *b = realloc(m->blocks, n * sizeof(Block));

                if (!b)
                        return NULL;
                for (size_t i = m->n_blocks; i < n; i++)
                        b[i] = (Block){ .node = -1 };
                m->blocks = b;
                m->n_blocks = n;
        }
        return &m->blocks[index];
}

void manager_block_set_state(Manager *m, unsigned index, BlockState state, Zone zone)
{
        Block *b;

        assert(m);

        b = &m->blocks[index];

        if (b->state == state && b->zone == zone)
                return;
        b->state = state;
        b->zone = zone;
        outcome_block(m, &(Outcome){ .kind = OUTCOME_STATE_CHANGED, .index = index });
}

void manager_block_set_zones(Manager *m, unsigned index, const BlockFacts *f)
{
        Block *b;

        assert(m);
        assert(f);

        b = &m->blocks[index];

        b->facts &= ~BLOCK_FACT_ZONES_KNOWN;
        if (!f->have_valid_zones)
                return;
        b->valid_zones = f->valid_zones;
        b->default_zone = f->default_zone;
        b->facts |= BLOCK_FACT_ZONES_KNOWN;
}

void manager_block_valid_zones(const Manager *m, unsigned index, char *buf, size_t size)
{
        const Block *b;

        assert(m);
        assert(buf);

        b = &m->blocks[index];

        if (b->state == BLOCK_ONLINE && b->zone)
                snprintf(buf, size, "%s", zone_to_string(b->zone));
        else if (b->facts & BLOCK_FACT_ZONES_KNOWN)
                zones_to_string(b->valid_zones, b->default_zone, buf, size);
        else if (size > 0)
                buf[0] = '\0';
}

bool manager_block_removable(Manager *m, unsigned index)
{
        Block *b;
        char path[48], buf[8];
        int fd;

        assert(m);

        b = &m->blocks[index];

        if (!(b->facts & BLOCK_FACT_REMOVABLE_KNOWN)) {
                snprintf(path, sizeof(path), "memory%u/removable", index);
                fd = sysfs_memory_fd(m->sysfs);
                if (fd >= 0 && sysfs_read_at(fd, path, buf, sizeof(buf)) >= 0) {
                        b->facts |=
                                BLOCK_FACT_REMOVABLE_KNOWN | (streq(buf, "1") ? BLOCK_FACT_REMOVABLE : 0);
                }
        }
        return b->facts & BLOCK_FACT_REMOVABLE;
}

void manager_block_rule(const Manager *m, int node, char *buf, size_t size)
{
        assert(m);
        assert(buf);

        if (node >= 0 && config_find_node(m->config, (unsigned)node))
                snprintf(buf, size, "[Node %d]", node);
        else
                snprintf(buf, size, "[Memory]");
}

void manager_mark_dirty(Manager *m, unsigned what)
{
        assert(m);
        outcome_mark_dirty(m, what);
}

void manager_devices_touched(Manager *m)
{
        assert(m);
        outcome_devices_touched(m);
}

void manager_device_changed(Manager *m, const char *name)
{
        assert(m);
        assert(name);
        outcome_device_changed(m, name);
}

int manager_rescan(Manager *m)
{
        assert(m);

        return intake_scan(m->intake, false);
}

static void on_intake_scanned(void *userdata, size_t n)
{
        Manager *m = userdata;
        size_t queued = onliner_queued(m->onliner);

        log_debug("Scanned %zu memory blocks, %zu queued", n, queued);
        if (queued == 0 && m->options.once) {
                unsigned failed;

                onliner_totals(m->onliner, NULL, &failed);
                (void)sd_event_exit(m->event, failed > 0 ? 1 : 0);
        }
        onliner_notify_status(m);
}

static void on_onliner_outcome(void *userdata, const Outcome *o)
{
        outcome_block(userdata, o);
}

/* A capacity-changed event (outcome_capacity_check()): r and the event as it returned them. */
static void log_capacity(Manager *m, int r, const Capacity *ev)
{
        char f_seq[48], f_online[48], nodes[512] = "", total[FORMAT_BYTES_MAX], bytes[FORMAT_BYTES_MAX];
        const char *fields[] = { f_seq, f_online, NULL };
        size_t n = 0;

        if (!ev) {
                if (r < 0)
                        log_warning_errno(r,
                                          "Failed to look at the online memory or write %s/" CAPACITY_FILE
                                          ", ignoring: %m",
                                          m->options.runtime_dir);
                return;
        }
        for (size_t i = 0; i < ev->n_nodes; i++)
                if (ev->node_online[i] > 0)
                        n += snprintf(nodes + n, n < sizeof(nodes) ? sizeof(nodes) - n : 0, "%snode %zu: %s",
                                      n ? ", " : " (", i, format_bytes(bytes, ev->node_online[i]));
        if (n > 0 && n < sizeof(nodes))
                snprintf(nodes + n, sizeof(nodes) - n, ")");
        snprintf(f_seq, sizeof(f_seq), "CAPACITY_SEQUENCE=%" PRIu64, ev->sequence);
        snprintf(f_online, sizeof(f_online), "ONLINE_BYTES=%" PRIu64, ev->online);
        log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_CAPACITY_CHANGED, fields,
                         "Online memory is now %s%s: capacity event %" PRIu64,
                         format_bytes(total, ev->online), nodes, ev->sequence);
        if (r < 0)
                log_warning_errno(
                        r, "Failed to write %s/" CAPACITY_FILE ", units watching it were not told: %m",
                        m->options.runtime_dir);
}

static void on_onliner_job_finished(void *userdata, const Job *job)
{
        Manager *m = userdata;
        const Capacity *ev;
        int r;

        r = outcome_job_finished(m, job, &ev);
        log_capacity(m, r, ev);
}

static void on_job_ending(void *userdata)
{
        Manager *m = userdata;

        intake_collect_burst(m->intake);
}

static int on_decide_queue(void *userdata, unsigned index, int node, OnlineType type, Zone zone,
                           bool recheck, uint64_t not_before)
{
        return onliner_enqueue(userdata, index, node, type, zone, recheck ? ENQUEUE_RECHECK : 0, not_before);
}

static bool on_decide_settle(void *userdata, unsigned index, int result)
{
        return onliner_settle(userdata, index, result);
}

static void on_device_onlined(void *userdata, const unsigned *indices, size_t n)
{
        onliner_count_onlined(userdata, indices, n);
}

static int on_device_write(void *userdata, const DeviceWrite *w)
{
        return onliner_write_device(userdata, w);
}

static bool on_device_writing(void *userdata, const char *name)
{
        Manager *m = userdata;

        return onliner_device_writing(m->onliner, name);
}

static void on_device_written(void *userdata, const DeviceWrite *w, int result, int interrupted)
{
        Manager *m = userdata;
        char reason[ONLINER_REASON_MAX];
        uint64_t first, end;
        int r;

        r = devices_hotplug_written(m, w, result, interrupted, &first, &end);
        /* PrepareUnplug's one write ends every block's offline at once, as the blocks' own would. */
        for (uint64_t i = first; i < end && i < m->n_blocks; i++)
                outcome_block(m,
                              &(Outcome){ .kind = OUTCOME_HANDLED,
                                          .index = (unsigned)i,
                                          .result = r,
                                          .offline_reason =
                                                  r == 0 ? "offlined and removed by the device's "
                                                           "state write (unplugged)"
                                                         : onliner_result_reason(m, (unsigned)i, r, reason,
                                                                                 sizeof(reason)) });
}

static void on_decide_removed(void *userdata, unsigned index)
{
        outcome_block(userdata, &(Outcome){ .kind = OUTCOME_REMOVED, .index = index });
}

/* The stages are wired here, so that none calls up into the one above it. Each hook is called
 * where the stage used to make the call itself, so the order of calls is as it was. */
static const IntakeHooks intake_hooks = {
        .ready = blocks_ready,
        .online = blocks_on_online,
        .offline = blocks_on_offline,
        .removed = blocks_on_removed,
        .scanned = on_intake_scanned,
        .reconsider = blocks_reconsider,
        .queued_arithmetic = blocks_queued_arithmetic,
        .device_onlined = on_device_onlined,
        .device_write = on_device_write,
        .device_writing = on_device_writing,
};

static const DecideHooks decide_hooks = {
        .queue = on_decide_queue,
        .settle = on_decide_settle,
        .removed = on_decide_removed,
};

static const OnlinerHooks onliner_hooks = {
        .outcome = on_onliner_outcome,
        .job_finished = on_onliner_job_finished,
        .job_ending = on_job_ending,
        .device_written = on_device_written,
};

int manager_setup_stages(Manager *m)
{
        int r;

        assert(m);

        r = decider_new(&decide_hooks, m, &m->decider);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the decisions: %m");
        r = onliner_new(m, &onliner_hooks, m, &m->onliner);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the onliner: %m");
        r = intake_new(m, &intake_hooks, m, &m->intake);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the intake: %m");
        return 0;
}

static void apply_log_level(Manager *m)
{
        if (m->options.log_level >= 0)
                log_set_max_level(m->options.log_level);
        else
                log_set_max_level(m->config->log_level >= 0 ? m->config->log_level : LOG_INFO);
}

void manager_set_log_level(Manager *m, int level)
{
        assert(m);

        m->options.log_level = level;
        apply_log_level(m);
        log_info("Log level set to %s", log_level_to_string(level));
}

void manager_set_log_target(Manager *m, LogTarget target)
{
        assert(m);

        log_open(target);
        log_info("Logging to %s", log_target_to_string(target));
}

/* What Online=platform, the default, means on this machine: found once, logged once. */
static void resolve_platform(Manager *m)
{
        if (platform_resolve(m->platform, m->sysfs) > 0)
                log_info("Online=platform means Online=%s here: %s",
                         online_type_to_string(m->platform->online), m->platform->reason);
}

static int config_read(Manager *m, Config **ret)
{
        _cleanup_(freep) char *error = NULL, *error_file = NULL;
        const char *fields[] = { NULL, NULL };
        char f_file[512];
        int r;

        r = config_load_full(m->options.config_path, m->options.config_required, NULL,
                             m->options.credentials_dir, ret, &error, &error_file);
        if (r >= 0) {
                resolve_platform(m);
                config_apply_platform(*ret, m->platform->online);
        }
        if (r < 0) {
                /* The file at fault, which may be a drop-in, not the main file. */
                snprintf(f_file, sizeof(f_file), "CONFIG_FILE=%s", error_file ?: m->options.config_path);
                fields[0] = f_file;
                free(m->last_config_error);
                m->last_config_error = strdup(error ?: "Failed to load the configuration");
                manager_mark_dirty(m, DIRTY_CONFIG);
                return log_fields_errno(LOG_ERR, config_error_for_log(r), MHP_MESSAGE_CONFIG_ERROR, fields,
                                        "%s", error ?: "Failed to load the configuration");
        }
        return 0;
}

static void log_policy_loaded(Manager *m)
{
        char files[1024] = "built-in defaults";
        size_t n = 0;

        for (size_t i = 0; i < m->config->n_files; i++)
                n += snprintf(files + n, n < sizeof(files) ? sizeof(files) - n : 0, "%s%s", i ? ", " : "",
                              m->config->files[i]);
        log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_POLICY_LOADED, NULL,
                         "Policy loaded from %s: [Memory] Online=%s, %zu [Node] section(s), ChunkBlocks=%u",
                         files, online_type_to_string(m->config->online), m->config->n_nodes,
                         m->config->chunk_blocks);
}

/* LockMemory=: applied at the end of the start and on a reload that changes it. A daemon that
 * cannot lock still onlines memory, only slower under pressure: a warning, not a failure. */
static void apply_lock_memory(Manager *m)
{
        uint64_t locked, rss;
        int r;

        if (m->options.once || m->config->lock_memory == m->life.locked)
                return;
        r = memlock_set(m->config->lock_memory);
        if (r < 0) {
                log_warning_errno(r, "Failed to %s the daemon's memory, ignoring%s: %m",
                                  m->config->lock_memory ? "lock" : "unlock",
                                  m->config->lock_memory ? " (see LimitMEMLOCK= in memhotplugd.service)"
                                                         : "");
                return;
        }
        m->life.locked = m->config->lock_memory;
        if (!m->life.locked) {
                log_info("The daemon's memory is no longer locked (LockMemory=no)");
                return;
        }
        if (memlock_read_sizes(&locked, &rss) < 0)
                locked = rss = 0;
        log_info("Locked the daemon's memory%s: %" PRIu64 " KiB locked, %" PRIu64 " KiB resident",
                 r > 0 ? " and what it maps later" : " mapped now (RLIMIT_MEMLOCK is finite)", locked >> 10,
                 rss >> 10);
}

static void on_metrics_written(void *userdata, const char *path, int r)
{
        if (r == -ENOENT)
                log_info("Not writing metrics to %s: its directory does not exist (no Prometheus node "
                         "exporter here?)",
                         path);
        else if (r < 0)
                log_warning_errno(r, "Failed to write metrics to %s, ignoring: %m", path);
        else
                log_debug("Metrics written to %s", path);
}

/* --metrics-file, else MetricsFile=, else the exporter's directory; "" (MetricsFile=no): none. */
static void apply_metrics_file(Manager *m)
{
        const char *path = m->options.metrics_file ?: m->config->metrics_file ?: METRICS_FILE_DEFAULT;
        int r;

        if (!m->metrics)
                return;
        r = metrics_set_path(m->metrics, path[0] ? path : NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to set up the metrics file %s, ignoring: %m", path);
        else if (r > 0)
                log_info("Removed %d temporary files a killed write of %s left", r, path);
        /* Written once the loop is idle, or when the job under way ends. */
        metrics_changed(m);
}

int manager_load_config(Manager *m)
{
        Config *c = NULL;
        int r;

        assert(m);

        r = config_read(m, &c);
        if (r < 0)
                return r;
        config_free(m->config);
        m->config = c;
        apply_log_level(m);
        log_policy_loaded(m);
        return 0;
}

int manager_reload(Manager *m, const char **ret_error)
{
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        assert(m);

        (void)sd_notify(false, "RELOADING=1");
        r = config_read(m, &c);
        if (r < 0) {
                log_warning("Reload failed, keeping the configuration that was running");
                if (m->life.ready_sent)
                        (void)sd_notify(false, "READY=1");
                if (ret_error)
                        *ret_error = m->last_config_error;
                return r;
        }

        if (onliner_resize_chunk(m->onliner, c->chunk_blocks) < 0) {
                if (m->life.ready_sent)
                        (void)sd_notify(false, "READY=1");
                return log_oom();
        }
        config_free(m->config);
        m->config = TAKE_PTR(c);
        m->last_config_error = mfree(m->last_config_error);
        manager_mark_dirty(m, DIRTY_CONFIG);
        apply_log_level(m);
        log_policy_loaded(m);
        (void)kernel_auto_apply(m);
        /* Delegate: the kernel onlines, and intake reads its uevents in quiet batches. */
        intake_set_delegate(m->intake, kernel_auto_mode(m) == KERNEL_AUTO_ONLINE_DELEGATE);
        tiering_apply(m);
        apply_lock_memory(m);
        apply_metrics_file(m);

        /* What the policy queued was decided by the old one: decide again, along with what it left
         * offline. Explicit requests over D-Bus stay as they were asked. */
        onliner_drop_policy_entries(m);
        devices_reconsider(m);
        r = intake_scan(m->intake, true);
        onliner_maybe_finish(m);
        if (m->life.ready_sent)
                (void)sd_notify(false, "READY=1");
        return r;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                (void)manager_reload(m, NULL);
                return 0;
        }
        log_info("Received SIG%s, exiting", si->ssi_signo == SIGTERM ? "TERM" : "INT");
        (void)sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

/* Two agents onlining the same block race each other, and whichever wins decides the zone: name
 * the other one and how to switch it off. */
static void warn_racing_agents(Manager *m)
{
        RacingRule *rules = NULL;
        size_t n = 0;
        int r;

        r = agents_find_racing_rules(m->options.udev_rules_dirs ?: UDEV_RULES_DIRS_DEFAULT, &rules, &n);
        if (r < 0) {
                log_debug_errno(r, "Failed to look for racing udev rules, ignoring: %m");
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (rules[i].error == -EFBIG)
                        log_warning("Skipping udev rules file %s: larger than %zu bytes, ignoring",
                                    rules[i].path, (size_t)READ_MAX_UDEV_RULES);
                else if (rules[i].error == -EBADFD)
                        log_warning("Skipping udev rules file %s: not a regular file, ignoring",
                                    rules[i].path);
                else if (rules[i].error < 0)
                        log_warning_errno(rules[i].error, "Skipping udev rules file %s, ignoring: %m",
                                          rules[i].path);
                else
                        log_warning("%s: %s and races memhotplugd; mask it with: ln -s /dev/null %s",
                                    rules[i].path, rules[i].what, strna(rules[i].mask));
        racing_rules_free(rules, n);
}

int manager_new(const ManagerOptions *o, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        assert(o);
        assert(ret);

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->options = *o;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = sysfs_new(o->sysfs_root, &m->sysfs);
        if (r < 0)
                return r;
        r = kernel_settings_new(&m->kernel);
        if (r < 0)
                return r;
        r = device_table_new(m->sysfs, &m->devices);
        if (r < 0)
                return r;
        r = platform_new(&m->platform);
        if (r < 0)
                return r;
        r = outcome_new(&m->outcomes);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

void manager_recover_settings(Manager *m)
{
        assert(m);

        /* Not a setting, but the same start: a kill during a save of the capacity file leaves its
         * temporary file, which only a start removes. */
        (void)capacity_remove_temporaries(m->options.runtime_dir);

        for (Setting s = 0; s < _SETTING_MAX; s++) {
                _cleanup_(freep) char *path = NULL;
                char current[SETTING_VALUE_MAX] = "";
                SavedSetting *st = kernel_setting(m, s);
                int r;

                r = setting_recover(m->sysfs, m->options.runtime_dir, s, st, current, sizeof(current));
                if (r == SETTING_RECOVERED_OURS)
                        log_info("A previous run changed %s; the kernel's value was %s", setting_name(s),
                                 st->original);
                else if (r == SETTING_RECOVERED_THEIRS)
                        log_notice("A previous run changed %s, but it is %s now, set by someone else: "
                                   "theirs, not restored",
                                   setting_name(s), current);
                else if (r == -EBADMSG && setting_record_path(m->options.runtime_dir, s, &path) >= 0)
                        log_warning_errno(r, "Ignoring %s, which does not hold %s values: %m", path,
                                          setting_name(s));
                else if (r < 0)
                        log_warning_errno(r,
                                          "Failed to recover the saved %s, keeping it for a later start: %m",
                                          setting_name(s));
        }
}

static void save_offline_marks(Manager *m)
{
        bool failing = offline_marks_failing(m);
        int r;

        r = offline_marks_save(m);
        if (r < 0 && !failing)
                log_warning_errno(r,
                                  "Failed to save %s/" OFFLINE_MARKS_FILE
                                  ", ignoring (a restart may online blocks offlined on purpose): %m",
                                  m->options.runtime_dir);
}

static int on_post_save_marks(sd_event_source *s, void *userdata)
{
        save_offline_marks(userdata);
        return 0;
}

/* The work under way comes to an end before the daemon exits: the offline in flight may end either
 * way, and its outcome is recorded (a block that did go offline is marked, so a restart leaves it
 * offline); the calls still waiting get our ShuttingDown. In the loop's exit source, ahead of
 * sd-bus's, which closes the connection; and again from manager_stop() for a start that failed. */
static void finish_work(Manager *m)
{
        if (m->life.work_finished)
                return; /* once: a write it gave up on is not waited for twice */
        m->life.work_finished = true;
        (void)onliner_stop(m, STOP_WAIT_USEC);
        if (m->marks)
                save_offline_marks(m);
        outcome_stopping(m);
}

static int on_loop_exit(sd_event_source *s, void *userdata)
{
        finish_work(userdata);
        return 0;
}

void manager_stop(Manager *m)
{
        assert(m);

        finish_work(m);
        kernel_auto_restore(m);
        tiering_restore(m);
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        m->bus = bus_free(m->bus);
        intake_free(m->intake);
        device_table_free(m->devices);
        onliner_free(m->onliner);
        offline_marks_free(m->marks);
        sd_event_source_disable_unref(m->life.exit_source);
        placement_free(m->placement);
        platform_free(m->platform);
        decider_free(m->decider);
        metrics_free(m->metrics);
        outcome_free(m->outcomes);
        sd_event_unref(m->event);
        sysfs_free(m->sysfs);
        config_free(m->config);
        free(m->last_config_error);
        kernel_settings_free(m->kernel);
        free(m->blocks);
        free(m);
        return NULL;
}

/* The one thing CAP_SYS_ADMIN is kept for until here: /proc/iomem opened with it shows where
 * virtio-mem devices put their memory, for as long as the file stays open. Then it goes, before
 * any event is handled. */
static void virtio_mem_setup(Manager *m)
{
        const char *path = m->options.iomem_path;
        int r;

        r = platform_virtio_mem_open(m->platform, path, m->sysfs, m->block_size);
        if (r < 0)
                log_warning_errno(r, "Failed to read %s, virtio-mem devices are not grouped: %m", path);
        else if (m->platform->virtio_mem.hidden)
                log_notice("%s hides its addresses from this daemon (started without CAP_SYS_ADMIN): the "
                           "blocks of virtio-mem devices are placed one at a time, not as the device's "
                           "memory group",
                           path);
        r = caps_drop_sys_admin();
        if (r < 0)
                log_warning_errno(r, "Failed to drop CAP_SYS_ADMIN, ignoring: %m");
}

int manager_start(Manager *m)
{
        static const int signals[] = { SIGHUP, SIGINT, SIGTERM };
        static const char *const signal_names[] = { "signal-hup", "signal-int", "signal-term" };
        int r;

        assert(m);

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                sd_event_source *s;

                r = sd_event_add_signal(m->event, &s, signals[i] | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to install the signal handler: %m");
                /* Owned by the loop, freed with it. */
                (void)sd_event_source_set_description(s, signal_names[i]);
                r = sd_event_source_set_floating(s, true);
                sd_event_source_unref(s);
                if (r < 0)
                        return log_error_errno(r, "Failed to install the signal handler: %m");
        }

        r = sd_event_add_exit(m->event, &m->life.exit_source, on_loop_exit, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the exit: %m");
        (void)sd_event_source_set_description(m->life.exit_source, "finish-work");
        /* Before sd-bus's own exit source (SD_EVENT_PRIORITY_NORMAL), which closes the connection. */
        (void)sd_event_source_set_priority(m->life.exit_source, SD_EVENT_PRIORITY_IMPORTANT);

        /* Sends WATCHDOG=1 when the service has WatchdogSec=: a stuck loop gets restarted. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

        r = manager_setup_stages(m);
        if (r < 0)
                return r;
        /* With --once too: its file is written as its job ends. */
        r = metrics_new(m, on_metrics_written, m, &m->metrics);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the metrics: %m");

        r = memory_read_block_size(m->sysfs, &m->block_size);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Failed to read %s/devices/system/memory/block_size_bytes (no memory hotplug "
                        "support in this kernel?): %m",
                        sysfs_root(m->sysfs));
        log_info("Memory block size is %" PRIu64 " MiB", m->block_size >> 20);
        virtio_mem_setup(m);

        (void)kernel_auto_apply(m);
        /* Delegate: the kernel onlines, and intake reads its uevents in quiet batches. */
        intake_set_delegate(m->intake, kernel_auto_mode(m) == KERNEL_AUTO_ONLINE_DELEGATE);
        tiering_apply(m);
        warn_racing_agents(m);
        apply_metrics_file(m);

        /* Listen before scanning, so that a block added in between is not missed. */
        if (!m->options.once) {
                r = intake_listen(m->intake, m->config->uevent_source);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen for %s uevents: %m",
                                               uevent_source_to_string(m->config->uevent_source));
                log_debug("Listening for memory uevents from %s",
                          uevent_source_to_string(m->config->uevent_source));
        }

        /* Blocks offlined on purpose before a restart stay offline (see offline-marks.h). */
        r = offline_marks_load(m);
        if (r < 0)
                log_warning_errno(r, "Failed to read %s/" OFFLINE_MARKS_FILE ", ignoring: %m",
                                  m->options.runtime_dir);
        if (!m->options.once) {
                r = offline_marks_new(m->event, on_post_save_marks, m, &m->marks);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the offline marks: %m");
        }

        /* The last capacity-changed event, which a restart does not announce again. */
        r = outcome_capacity_load(m);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(
                        r, "Failed to read %s/" CAPACITY_FILE ", announcing the memory online anew: %m",
                        m->options.runtime_dir);

        if (m->config->scan_at_start || m->options.once) {
                /* Devices first: converting one adds blocks, and its blocks follow its rule. */
                (void)devices_scan(m);
                r = intake_scan(m->intake, false);
                if (r < 0)
                        return r;
        }
        /* Nothing to online at start: the memory may still differ from the last event (a first
         * start, a run killed before its job ended). With a job, its end compares. */
        if (onliner_queued(m->onliner) == 0) {
                const Capacity *ev;

                r = outcome_capacity_check(m, &ev);
                log_capacity(m, r, ev);
        }
        /* Memory online before we ran; what we online is looked at as it comes (blocks.c). */
        tiering_check(m, -1);

        /* Onlining never waits for D-Bus: the bus comes up (or not) on its own time. */
        if (!m->options.once && !m->options.no_bus) {
                r = bus_setup(m, &m->bus);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up D-Bus, continuing without it: %m");
        }

        /* Last, so that what the start mapped (the bus, libdaxctl) is locked even without MCL_FUTURE. */
        apply_lock_memory(m);

        /* READY=1 waits for the blocks found at start: the unit is ordered Before=sysinit.target,
         * so memory present at boot is online before the services that want it. */
        if (onliner_queued(m->onliner) == 0)
                manager_notify_ready(m);
        onliner_notify_status(m);
        return 0;
}

void manager_notify_ready(Manager *m)
{
        assert(m);

        if (m->life.ready_sent)
                return;
        m->life.ready_sent = true;
        (void)sd_notify(false, "READY=1");
}

int manager_run(Manager *m)
{
        int r;

        assert(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "message-ids.h"
#include "parse-util.h"
#include "policy.h"

#define KERNEL_AUTO_SAVE_FILE "kernel-auto-online"

static void manager_schedule(Manager *m);

static uint64_t now_usec(Manager *m)
{
        uint64_t t = 0;

        (void)sd_event_now(m->event, CLOCK_MONOTONIC, &t);
        return t;
}

static uint8_t *block_flags(Manager *m, unsigned index)
{
        if (index >= m->n_blocks) {
                size_t n = index + 1 > m->n_blocks * 2 ? index + 1 : m->n_blocks * 2;
                uint8_t *b = realloc(m->blocks, n);

                if (!b)
                        return NULL;
                memset(b + m->n_blocks, 0, n - m->n_blocks);
                m->blocks = b;
                m->n_blocks = n;
        }
        return &m->blocks[index];
}

/* Journal entries about one block carry its coordinates as fields, so that
 * "journalctl MEMORY_BLOCK=42" tells the block's whole story. */
_printf_(7, 8) static int log_block(int level, int error, const char *message_id, unsigned index, int node,
                                    Zone zone, const char *format, ...)
{
        char f_block[32], f_node[32], f_zone[32], message[512];
        const char *fields[4] = {};
        size_t n = 0;
        va_list ap;

        if (level > log_get_max_level())
                return error < 0 ? error : -error;

        snprintf(f_block, sizeof(f_block), "MEMORY_BLOCK=%u", index);
        fields[n++] = f_block;
        if (node >= 0) {
                snprintf(f_node, sizeof(f_node), "MEMORY_NODE=%d", node);
                fields[n++] = f_node;
        }
        if (zone != 0) {
                snprintf(f_zone, sizeof(f_zone), "MEMORY_ZONE=%s", zone_to_string(zone));
                fields[n++] = f_zone;
        }

        errno = error < 0 ? -error : error;
        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return log_fields_errno(level, error, message_id, fields, "memory%u: %s", index, message);
}

static void notify_status(Manager *m)
{
        if (m->job.total > 0)
                (void)sd_notifyf(false, "STATUS=Onlining memory blocks: %u/%u done, %u failed",
                                 m->job.done + m->job.failed, m->job.total, m->job.failed);
        else
                (void)sd_notifyf(false, "STATUS=Idle: %u blocks onlined since start, %u failed",
                                 m->total_onlined, m->total_failed);
}

static int enqueue(Manager *m, const BlockFacts *f, const Decision *d, bool recheck, uint64_t not_before)
{
        QueueEntry e = {
                .index = f->index,
                .node = f->node,
                .phys_index = f->phys_index,
                .type = d->type,
                .zone = d->zone,
                .recheck = recheck,
                .not_before = not_before,
        };
        uint8_t *flags = block_flags(m, f->index);
        int r;

        if (!flags)
                return -ENOMEM;
        if (*flags & BLOCK_QUEUED)
                return 0;
        r = queue_push(&m->queue, &e);
        if (r < 0)
                return r;
        *flags |= BLOCK_QUEUED;
        m->job.total++;
        return 0;
}

/* Reads a block, asks the policy, and queues or logs the outcome. from_add: a new block announced
 * by the kernel, which may be about to online it itself. */
static int handle_block(Manager *m, unsigned index, int node, bool from_add)
{
        const char *attr = NULL;
        uint8_t *flags;
        BlockFacts f;
        Decision d;
        int r;

        flags = block_flags(m, index);
        if (!flags)
                return log_oom();
        *flags |= BLOCK_KNOWN;
        *flags &= ~(BLOCK_POLICY_OFFLINE | BLOCK_FAILED);

        r = memblock_read(m->sysfs, index, node, &f, &attr);
        if (r == -ENOENT) {
                *flags = 0; /* gone again */
                return 0;
        }
        if (r < 0)
                return log_block(LOG_WARNING, r, NULL, index, -1, 0, "Cannot read %s%s, skipping block: %m",
                                 attr, r == -EBADMSG ? " (unexpected value)" : "");

        policy_decide(m->config, &f, &d);
        switch (d.action) {
        case ACTION_NONE:
                log_block(LOG_DEBUG, 0, NULL, index, f.node, 0, "Nothing to do: %s", d.reason);
                return 0;
        case ACTION_OFFLINE:
                *flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f.node, 0, "Left offline: %s",
                          d.reason);
                return 0;
        case ACTION_SKIP:
                *flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_WARNING, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f.node, 0,
                          "Left offline, the kernel cannot do what the policy asks: %s", d.reason);
                return 0;
        default:
                break;
        }

        /* When the kernel onlines new blocks itself and we were told to respect that, give it a
         * moment and only take the blocks it leaves offline. */
        if (from_add && m->config->kernel_auto_online == KERNEL_AUTO_ONLINE_RESPECT &&
            m->kernel_auto_original[0] && !streq(m->kernel_auto_original, "offline"))
                r = enqueue(m, &f, &d, true, now_usec(m) + m->config->retry_usec);
        else
                r = enqueue(m, &f, &d, false, 0);
        if (r < 0)
                return log_oom();

        log_block(LOG_DEBUG, 0, NULL, index, f.node, d.zone, "Queued: %s", d.reason);
        manager_schedule(m);
        return 0;
}

static void job_finish(Manager *m)
{
        char f_total[32], f_done[32], f_failed[32];
        const char *fields[] = { f_total, f_done, f_failed, NULL };

        if (m->job.total == 0)
                return;
        snprintf(f_total, sizeof(f_total), "JOB_BLOCKS=%u", m->job.total);
        snprintf(f_done, sizeof(f_done), "JOB_DONE=%u", m->job.done);
        snprintf(f_failed, sizeof(f_failed), "JOB_FAILED=%u", m->job.failed);
        log_fields_errno(m->job.failed ? LOG_WARNING : LOG_INFO, 0, MHP_MESSAGE_JOB_FINISHED, fields,
                         "Finished: %u of %u blocks online (%u by another agent), %u failed", m->job.done,
                         m->job.total, m->job.raced, m->job.failed);
        m->job = (Job){};
        notify_status(m);
}

/* One block of a chunk. Never fails the chunk: every outcome is counted and logged. */
static void online_one(Manager *m, QueueEntry *e, uint64_t now)
{
        const char *word = online_type_to_sysfs(e->type);
        uint8_t *flags = &m->blocks[e->index];
        BlockState st;
        int r;

        *flags &= ~BLOCK_QUEUED;

        if (e->recheck) {
                r = memblock_read_state(m->sysfs, e->index, &st);
                if (r >= 0 && st != BLOCK_OFFLINE) {
                        log_block(LOG_DEBUG, 0, NULL, e->index, e->node, 0, "Onlined by the kernel itself");
                        m->job.done++;
                        m->job.raced++;
                        return;
                }
        }

        r = memblock_write_state(m->sysfs, e->index, word);
        if (r == -EINVAL && memblock_read_state(m->sysfs, e->index, &st) >= 0 && st == BLOCK_ONLINE) {
                /* The kernel says EINVAL to onlining an online block: someone else won the race. */
                log_block(LOG_INFO, 0, NULL, e->index, e->node, 0,
                          "Already online: another agent onlined it first, counted as done");
                m->job.done++;
                m->job.raced++;
                return;
        }
        if (r == -ENOENT || r == -ENODEV) {
                log_block(LOG_DEBUG, r, NULL, e->index, e->node, 0, "Removed before it could be onlined");
                *flags = 0;
                m->job.done++;
                return;
        }
        if (r < 0) {
                e->attempts++;
                if (e->attempts < m->config->max_attempts) {
                        uint64_t delay = m->config->retry_usec * e->attempts;

                        log_block(LOG_WARNING, r, NULL, e->index, e->node, e->zone,
                                  "Writing \"%s\" to state failed (attempt %u of %u): %m; retrying in %.1fs",
                                  word, e->attempts, m->config->max_attempts, (double)delay / USEC_PER_SEC);
                        e->not_before = now + delay;
                        if (queue_push(&m->queue, e) >= 0) {
                                *flags |= BLOCK_QUEUED;
                                return;
                        }
                }
                log_block(LOG_ERR, r, MHP_MESSAGE_BLOCK_ONLINE_FAILED, e->index, e->node, e->zone,
                          "Onlining failed after %u attempts, leaving it offline: %m", e->attempts);
                *flags |= BLOCK_FAILED;
                m->job.failed++;
                m->total_failed++;
                return;
        }

        log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_ONLINED, e->index, e->node, e->zone,
                  "Onlined into zone %s (wrote %s)",
                  e->zone ? zone_to_string(e->zone) : "chosen by the kernel", word);
        m->job.done++;
        m->total_onlined++;
}

static int on_chunk(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        uint64_t now = now_usec(m), next;
        size_t n;

        n = queue_take_chunk(&m->queue, m->config->chunk_blocks, now, m->chunk, &next);
        if (n > 0)
                log_debug("Chunk of %zu blocks, %zu waiting", n, queue_size(&m->queue));
        for (size_t i = 0; i < n; i++)
                online_one(m, &m->chunk[i], now);

        notify_status(m);
        if (queue_size(&m->queue) == 0) {
                job_finish(m);
                if (m->options.once)
                        (void)sd_event_exit(m->event, m->total_failed > 0 ? 1 : 0);
                return 0;
        }

        /* After a full chunk, pause if asked; the event loop runs other sources either way. */
        if (n > 0 && m->config->chunk_pause_usec > 0 && queue_has_ready(&m->queue, now))
                next = now + m->config->chunk_pause_usec;
        else if (queue_has_ready(&m->queue, now))
                next = 0;
        if (next > 0) {
                (void)sd_event_source_set_time(m->timer_source, next);
                (void)sd_event_source_set_enabled(m->timer_source, SD_EVENT_ONESHOT);
        } else
                (void)sd_event_source_set_enabled(m->chunk_source, SD_EVENT_ONESHOT);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        return on_chunk(s, userdata);
}

/* Makes sure a chunk runs soon, unless one is already due or a pause between chunks is running. */
static void manager_schedule(Manager *m)
{
        int enabled = SD_EVENT_OFF;

        (void)sd_event_source_get_enabled(m->timer_source, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void)sd_event_source_set_enabled(m->chunk_source, SD_EVENT_ONESHOT);
}

static void on_uevent(void *userdata, const char *subsystem, const char *action, const char *sysname)
{
        Manager *m = userdata;
        unsigned index;
        uint8_t *flags;

        if (!streq(subsystem, "memory") || parse_sysname_index(sysname, "memory", &index) < 0)
                return;
        flags = block_flags(m, index);
        if (!flags) {
                log_oom();
                return;
        }

        if (streq(action, "add")) {
                *flags &= ~BLOCK_USER_OFFLINE;
                (void)handle_block(m, index, NODE_LOOK_UP, true);
        } else if (streq(action, "remove")) {
                if (*flags & BLOCK_QUEUED && queue_remove(&m->queue, index)) {
                        m->job.done++;
                        if (queue_size(&m->queue) == 0)
                                job_finish(m);
                }
                *flags = 0;
                log_debug("memory%u: removed", index);
        } else if (streq(action, "online")) {
                *flags &= ~(BLOCK_USER_OFFLINE | BLOCK_POLICY_OFFLINE | BLOCK_FAILED);
                if (*flags & BLOCK_QUEUED && queue_remove(&m->queue, index)) {
                        /* Someone else was faster; nothing left for us to do with it. */
                        *flags &= ~BLOCK_QUEUED;
                        m->job.done++;
                        m->job.raced++;
                        log_block(LOG_INFO, 0, NULL, index, -1, 0, "Onlined by another agent while queued");
                        if (queue_size(&m->queue) == 0)
                                job_finish(m);
                }
        } else if (streq(action, "offline")) {
                /* Offlining is deliberate (usually before an unplug): never undo it. */
                if (!(*flags & (BLOCK_QUEUED | BLOCK_POLICY_OFFLINE | BLOCK_FAILED))) {
                        *flags |= BLOCK_KNOWN | BLOCK_USER_OFFLINE;
                        log_block(LOG_INFO, 0, NULL, index, -1, 0,
                                  "Offlined by someone else, leaving it offline");
                }
        }
}

static void on_overflow(void *userdata)
{
        Manager *m = userdata;

        log_warning("Uevents were lost (receive buffer overflow), rescanning sysfs");
        (void)manager_rescan(m);
}

/* Handles every block we have not seen yet; with all, also the ones the policy or a failure left
 * offline (after a reload, the policy may say otherwise now). */
static int scan(Manager *m, bool all)
{
        _cleanup_(freep) unsigned *indices = NULL;
        _cleanup_(freep) int *nodes = NULL;
        size_t n, n_nodes = 0;
        int r;

        r = memblock_enumerate(m->sysfs, &indices, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list memory blocks: %m");
        r = memory_read_node_map(m->sysfs, &nodes, &n_nodes);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Cannot map blocks to nodes in one pass, looking them up one by one: %m");

        for (size_t i = 0; i < n; i++) {
                uint8_t *flags = block_flags(m, indices[i]);

                if (!flags)
                        return log_oom();
                if (!(*flags & BLOCK_KNOWN) ||
                    (all && (*flags & (BLOCK_POLICY_OFFLINE | BLOCK_FAILED)) && !(*flags & BLOCK_QUEUED)))
                        (void)handle_block(m, indices[i],
                                           indices[i] < n_nodes && nodes[indices[i]] >= 0 ? nodes[indices[i]]
                                                                                          : NODE_LOOK_UP,
                                           false);
        }
        log_debug("Scanned %zu memory blocks, %zu queued", n, queue_size(&m->queue));
        if (queue_size(&m->queue) == 0 && m->options.once)
                (void)sd_event_exit(m->event, m->total_failed > 0 ? 1 : 0);
        notify_status(m);
        return 0;
}

int manager_rescan(Manager *m)
{
        return scan(m, false);
}

static int save_path(Manager *m, char **ret)
{
        return asprintf(ret, "%s/%s", m->options.runtime_dir, KERNEL_AUTO_SAVE_FILE) < 0 ? -ENOMEM : 0;
}

/* Runtime state is ours, not the kernel's: created if missing, unlike a sysfs attribute. */
static int write_runtime_file(const char *path, const char *value)
{
        _cleanup_(fclosep) FILE *f = NULL;

        f = fopen(path, "we");
        if (!f)
                return negative_errno();
        if (fputs(value, f) < 0 || fflush(f) != 0)
                return negative_errno();
        return 0;
}

static void kernel_auto_restore(Manager *m)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!m->took_over)
                return;
        r = memory_write_auto_online(m->sysfs, m->kernel_auto_original);
        if (r < 0)
                log_error_errno(r, "Failed to restore auto_online_blocks=%s: %m", m->kernel_auto_original);
        else
                log_info("Restored the kernel's auto_online_blocks=%s", m->kernel_auto_original);
        if (r >= 0 && save_path(m, &path) >= 0)
                (void)unlink(path);
        m->took_over = false;
        snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", "offline");
}

/* The kernel onlines new blocks itself unless auto_online_blocks is "offline". With takeover we
 * switch that off while we run and remember the old value in the runtime directory, so that a
 * restart after a crash still knows what to restore. */
static int kernel_auto_apply(Manager *m)
{
        _cleanup_(freep) char *path = NULL;
        char current[32], saved[32] = "";
        const char *fields[] = { NULL, NULL };
        char f_mode[64];
        int r;

        r = memory_read_auto_online(m->sysfs, current, sizeof(current));
        if (r < 0) {
                m->kernel_auto_original[0] = '\0';
                return log_warning_errno(
                        r, "Cannot read auto_online_blocks, not coordinating with the kernel: %m");
        }
        r = save_path(m, &path);
        if (r < 0)
                return log_oom();
        if (!m->took_over && sysfs_read_at(AT_FDCWD, path, saved, sizeof(saved)) > 0 &&
            streq(current, "offline")) {
                /* A previous run took over and did not get to restore: its value is the original. */
                snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", saved);
                m->took_over = !streq(saved, "offline");
        } else if (!m->took_over)
                snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", current);

        snprintf(f_mode, sizeof(f_mode), "KERNEL_AUTO_ONLINE=%s", m->kernel_auto_original);
        fields[0] = f_mode;

        if (m->config->kernel_auto_online == KERNEL_AUTO_ONLINE_RESPECT) {
                kernel_auto_restore(m);
                r = memory_read_auto_online(m->sysfs, current, sizeof(current));
                if (r >= 0)
                        snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", current);
                log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                                 "KernelAutoOnline=respect: the kernel's auto_online_blocks is %s%s",
                                 m->kernel_auto_original,
                                 streq(m->kernel_auto_original, "offline")
                                         ? "; every new block is ours"
                                         : "; handling only the blocks the kernel leaves offline");
                return 0;
        }

        if (!streq(current, "offline")) {
                r = memory_write_auto_online(m->sysfs, "offline");
                if (r < 0)
                        return log_error_errno(
                                r, "KernelAutoOnline=takeover: cannot set auto_online_blocks=offline: %m");
                m->took_over = true;
                r = mkdir(m->options.runtime_dir, 0755);
                if (r < 0 && errno != EEXIST)
                        log_warning_errno(errno, "Cannot create %s, ignoring: %m", m->options.runtime_dir);
                r = write_runtime_file(path, m->kernel_auto_original);
                if (r < 0)
                        log_warning_errno(
                                r, "Cannot save the original auto_online_blocks to %s, ignoring: %m", path);
        }
        log_fields_errno(
                LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                "KernelAutoOnline=takeover: auto_online_blocks is offline while memhotplugd runs%s%s%s",
                m->took_over ? " (was " : "", m->took_over ? m->kernel_auto_original : "",
                m->took_over ? ", restored on exit)" : "");
        return 0;
}

static void apply_log_level(Manager *m)
{
        if (m->options.log_level >= 0)
                log_set_max_level(m->options.log_level);
        else
                log_set_max_level(m->config->log_level >= 0 ? m->config->log_level : LOG_INFO);
}

static int config_read(Manager *m, Config **ret)
{
        _cleanup_(freep) char *error = NULL;
        const char *fields[] = { NULL, NULL };
        char f_file[512];
        int r;

        r = config_load(m->options.config_path, m->options.config_required, ret, &error);
        if (r < 0) {
                snprintf(f_file, sizeof(f_file), "CONFIG_FILE=%s", m->options.config_path);
                fields[0] = f_file;
                return log_fields_errno(LOG_ERR, r, MHP_MESSAGE_CONFIG_ERROR, fields, "%s",
                                        error ?: "Failed to load the configuration");
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

int manager_load_config(Manager *m)
{
        Config *c = NULL;
        int r;

        r = config_read(m, &c);
        if (r < 0)
                return r;
        config_free(m->config);
        m->config = c;
        apply_log_level(m);
        log_policy_loaded(m);
        return 0;
}

int manager_reload(Manager *m)
{
        _cleanup_(config_freep) Config *c = NULL;
        QueueEntry *chunk;
        int r;

        (void)sd_notify(false, "RELOADING=1");
        r = config_read(m, &c);
        if (r < 0) {
                log_warning("Reload failed, keeping the configuration that was running");
                (void)sd_notify(false, "READY=1");
                return r;
        }

        chunk = realloc(m->chunk, c->chunk_blocks * sizeof(QueueEntry));
        if (!chunk) {
                (void)sd_notify(false, "READY=1");
                return log_oom();
        }
        m->chunk = chunk;
        config_free(m->config);
        m->config = TAKE_PTR(c);
        apply_log_level(m);
        log_policy_loaded(m);
        (void)kernel_auto_apply(m);

        /* What is queued was decided by the old policy: decide again, along with what it left offline. */
        for (size_t i = 0; i < m->queue.n; i++) {
                m->blocks[m->queue.entries[i].index] &= ~BLOCK_QUEUED;
                m->blocks[m->queue.entries[i].index] |= BLOCK_POLICY_OFFLINE;
                m->job.total--;
        }
        m->queue.n = 0;
        r = scan(m, true);
        (void)sd_notify(false, "READY=1");
        return r;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                (void)manager_reload(m);
                return 0;
        }
        log_info("Received SIG%s, exiting", si->ssi_signo == SIGTERM ? "TERM" : "INT");
        (void)sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_new(const ManagerOptions *o, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

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

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        kernel_auto_restore(m);
        monitor_free(m->monitor);
        sd_event_source_disable_unref(m->chunk_source);
        sd_event_source_disable_unref(m->timer_source);
        sd_event_unref(m->event);
        sysfs_free(m->sysfs);
        config_free(m->config);
        queue_clear(&m->queue);
        free(m->chunk);
        free(m->blocks);
        free(m);
        return NULL;
}

int manager_start(Manager *m)
{
        int r;

        for (int sig = SIGHUP; sig <= SIGTERM; sig++) {
                if (sig != SIGHUP && sig != SIGINT && sig != SIGTERM)
                        continue;
                r = sd_event_add_signal(m->event, NULL, sig | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to install the signal handler: %m");
        }

        r = sd_event_add_defer(m->event, &m->chunk_source, on_chunk, m);
        if (r < 0)
                return log_error_errno(r, "Failed to create the chunk source: %m");
        (void)sd_event_source_set_enabled(m->chunk_source, SD_EVENT_OFF);
        r = sd_event_add_time(m->event, &m->timer_source, CLOCK_MONOTONIC, 0, 0, on_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to create the chunk timer: %m");
        (void)sd_event_source_set_enabled(m->timer_source, SD_EVENT_OFF);

        m->chunk = calloc(m->config->chunk_blocks, sizeof(QueueEntry));
        if (!m->chunk)
                return log_oom();

        r = memory_read_block_size(m->sysfs, &m->block_size);
        if (r < 0)
                return log_error_errno(r,
                                       "Cannot read %s/devices/system/memory/block_size_bytes (no memory "
                                       "hotplug support in this kernel?): %m",
                                       sysfs_root(m->sysfs));
        log_info("Memory block size is %" PRIu64 " MiB", m->block_size >> 20);

        (void)kernel_auto_apply(m);

        /* Listen before scanning, so that a block added in between is not missed. */
        if (!m->options.once) {
                r = monitor_new(m->event, m->config->uevent_source, on_uevent, on_overflow, m, &m->monitor);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen for %s uevents: %m",
                                               uevent_source_to_string(m->config->uevent_source));
                log_debug("Listening for memory uevents from %s",
                          uevent_source_to_string(m->config->uevent_source));
        }

        if (m->config->scan_at_start || m->options.once) {
                r = scan(m, false);
                if (r < 0)
                        return r;
        }

        (void)sd_notify(false, "READY=1");
        notify_status(m);
        return 0;
}

int manager_run(Manager *m)
{
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

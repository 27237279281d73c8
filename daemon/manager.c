/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "agents.h"
#include "bus.h"
#include "dax.h"
#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "message-ids.h"
#include "parse-util.h"
#include "policy.h"

Block *manager_block(Manager *m, unsigned index)
{
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

void manager_mark_dirty(Manager *m, unsigned what)
{
        m->dirty |= what;
        if (m->emit_source)
                (void)sd_event_source_set_enabled(m->emit_source, SD_EVENT_ONESHOT);
}

void manager_block_set_state(Manager *m, unsigned index, BlockState state, Zone zone)
{
        Block *b = &m->blocks[index];

        if (b->state == state && b->zone == zone)
                return;
        b->state = state;
        b->zone = zone;
        manager_mark_dirty(m, DIRTY_TOTALS);
        bus_emit_block_state(m, index);
}

void manager_block_rule(const Manager *m, int node, char *buf, size_t size)
{
        if (node >= 0 && config_find_node(m->config, (unsigned)node))
                snprintf(buf, size, "[Node %d]", node);
        else
                snprintf(buf, size, "[Memory]");
}

static int handle_block(Manager *m, unsigned index, int node, bool from_add, unsigned node_tries);

/* The kernel sends a new block's "add" uevent before it links the block to its node: a block
 * that shows no node yet on a NUMA system is looked at again shortly. */
#define NODE_WAIT_FIRST_USEC (1 * USEC_PER_MSEC) /* doubled each try: 1, 2, 4 … 512 ms, ~1 s in all */
#define NODE_WAIT_TRIES      10

typedef struct NodeWait {
        Manager *manager;
        unsigned index, tries;
} NodeWait;

static int on_node_wait(sd_event_source *s, uint64_t usec, void *userdata)
{
        NodeWait *w = userdata;

        (void)handle_block(w->manager, w->index, NODE_LOOK_UP, true, w->tries);
        free(w);
        sd_event_source_unref(s);
        return 0;
}

static int node_wait(Manager *m, unsigned index, unsigned tries)
{
        sd_event_source *s;
        NodeWait *w;
        int r;

        w = malloc(sizeof(NodeWait));
        if (!w)
                return -ENOMEM;
        *w = (NodeWait){ .manager = m, .index = index, .tries = tries };
        /* Accuracy 1 µs: sd-event's default would let a 1 ms wait slip by up to 250 ms. */
        r = sd_event_add_time_relative(m->event, &s, CLOCK_MONOTONIC, NODE_WAIT_FIRST_USEC << (tries - 1), 1,
                                       on_node_wait, w);
        if (r < 0)
                free(w);
        return r;
}

/* Reads a block, records what it is, asks the policy, and queues or logs the outcome. from_add: a
 * new block announced by the kernel, which may be about to online it itself. */
static int handle_block(Manager *m, unsigned index, int node, bool from_add, unsigned node_tries)
{
        const char *attr = NULL;
        Device *owner;
        Block *b;
        BlockFacts f;
        Decision d;
        int r;

        b = manager_block(m, index);
        if (!b)
                return log_oom();

        r = memblock_read(m->sysfs, index, node, &f, &attr);
        if (r == -ENOENT) {
                *b = (Block){ .node = -1 }; /* gone again */
                return 0;
        }
        if (r < 0)
                return log_block(LOG_WARNING, r, NULL, index, -1, 0, "Cannot read %s%s, skipping block: %m",
                                 attr, r == -EBADMSG ? " (unexpected value)" : "");

        if (from_add && f.node < 0 && sysfs_has_numa(m->sysfs) && node_tries < NODE_WAIT_TRIES &&
            node_wait(m, index, node_tries + 1) >= 0)
                return 0;
        /* Still being added (no node, so valid_zones was not read): its "add" uevent, or the
         * wait above, brings it back. */
        if (f.node < 0 && sysfs_has_numa(m->sysfs) && f.state != BLOCK_ONLINE) {
                if (from_add)
                        log_block(LOG_WARNING, 0, NULL, index, -1, 0,
                                  "No node link after %u tries, skipping block until a rescan", node_tries);
                return 0;
        }

        b->flags |= BLOCK_KNOWN;
        b->flags &= ~(BLOCK_POLICY_OFFLINE | BLOCK_FAILED);
        b->node = f.node;
        /* valid_zones of an online block names the zone it is in. */
        manager_block_set_state(m, index, f.state, f.state == BLOCK_ONLINE ? f.default_zone : 0);

        owner = devices_owner_of_block(m, index);
        if (owner && owner->decision.mode == DAX_MODE_IGNORE) {
                log_block(LOG_DEBUG, 0, NULL, index, f.node, 0, "Left alone: %s is %s", owner->dax->name,
                          owner->decision.reason);
                return 0;
        }
        if (owner) {
                /* A device's memory goes into one zone: the first block's zone decides for the rest. */
                OnlineType type = owner->decision.online;

                if (type == ONLINE_TYPE_ONLINE && owner->zone != 0)
                        type = owner->zone == ZONE_MOVABLE ? ONLINE_TYPE_MOVABLE : ONLINE_TYPE_KERNEL;
                policy_decide_as(&f, type, owner->decision.rule, &d);
                if (d.action == ACTION_ONLINE)
                        devices_block_zone(m, owner, d.zone);
        } else
                policy_decide(m->config, &f, &d);
        switch (d.action) {
        case ACTION_NONE:
                log_block(LOG_DEBUG, 0, NULL, index, f.node, 0, "Nothing to do: %s", d.reason);
                return 0;
        case ACTION_OFFLINE:
                b->flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f.node, 0, "Left offline: %s",
                          d.reason);
                return 0;
        case ACTION_SKIP:
                b->flags |= BLOCK_POLICY_OFFLINE;
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
                r = onliner_enqueue(m, index, f.node, d.type, d.zone, true,
                                    manager_now(m) + m->config->retry_usec);
        else
                r = onliner_enqueue(m, index, f.node, d.type, d.zone, false, 0);
        if (r < 0)
                return log_oom();

        log_block(LOG_DEBUG, 0, NULL, index, f.node, d.zone, "Queued: %s", d.reason);
        return 0;
}

static void on_uevent(void *userdata, const char *subsystem, const char *action, const char *sysname)
{
        Manager *m = userdata;
        unsigned index;
        BlockState st;
        Block *b;

        if (streq(subsystem, "dax")) {
                devices_on_uevent(m, action, sysname);
                return;
        }
        if (!streq(subsystem, "memory") || parse_sysname_index(sysname, "memory", &index) < 0)
                return;
        b = manager_block(m, index);
        if (!b) {
                log_oom();
                return;
        }

        if (streq(action, "add")) {
                b->flags &= ~BLOCK_USER_OFFLINE;
                (void)handle_block(m, index, NODE_LOOK_UP, true, 0);
                return;
        }
        if (!(b->flags & BLOCK_KNOWN))
                return;

        if (streq(action, "remove")) {
                if (b->flags & BLOCK_QUEUED && queue_remove(&m->queue, index)) {
                        m->job.done++;
                        bus_block_done(m, index, -ENODEV);
                        onliner_maybe_finish(m);
                }
                manager_block_set_state(m, index, BLOCK_OFFLINE, 0);
                *b = (Block){ .node = -1 };
                log_debug("memory%u: removed", index);
        } else if (streq(action, "online")) {
                const char *attr;
                BlockFacts f;

                b->flags &= ~(BLOCK_USER_OFFLINE | BLOCK_POLICY_OFFLINE | BLOCK_FAILED);
                /* The zone it went into, from valid_zones, which now names only that zone. */
                if (memblock_read(m->sysfs, index, b->node, &f, &attr) >= 0)
                        manager_block_set_state(m, index, f.state,
                                                f.state == BLOCK_ONLINE ? f.default_zone : 0);
                if (b->flags & BLOCK_QUEUED && queue_remove(&m->queue, index)) {
                        /* Someone else was faster; nothing left for us to do with it. */
                        b->flags &= ~BLOCK_QUEUED;
                        m->job.done++;
                        m->job.raced++;
                        bus_block_done(m, index, 0);
                        log_block(LOG_INFO, 0, NULL, index, b->node, 0,
                                  "Onlined by another agent while queued");
                        onliner_maybe_finish(m);
                }
        } else if (streq(action, "offline")) {
                if (memblock_read_state(m->sysfs, index, &st) >= 0)
                        manager_block_set_state(m, index, st, 0);
                /* Offlining is deliberate (usually before an unplug): never undo it. */
                if (!(b->flags &
                      (BLOCK_QUEUED | BLOCK_POLICY_OFFLINE | BLOCK_FAILED | BLOCK_USER_OFFLINE))) {
                        b->flags |= BLOCK_USER_OFFLINE;
                        log_block(LOG_INFO, 0, NULL, index, b->node, 0,
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
 * offline (after a reload, the policy may say otherwise now). Blocks that vanished are forgotten. */
static int scan(Manager *m, bool all)
{
        _cleanup_(freep) unsigned *indices = NULL;
        _cleanup_(freep) int *nodes = NULL;
        _cleanup_(freep) uint8_t *seen = NULL;
        size_t n, n_nodes = 0;
        int r;

        r = memblock_enumerate(m->sysfs, &indices, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list memory blocks: %m");
        r = memory_read_node_map(m->sysfs, &nodes, &n_nodes);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Cannot map blocks to nodes in one pass, looking them up one by one: %m");

        for (size_t i = 0; i < n; i++)
                if (!manager_block(m, indices[i]))
                        return log_oom();
        seen = calloc(m->n_blocks, 1);
        if (!seen)
                return log_oom();

        for (size_t i = 0; i < n; i++) {
                unsigned index = indices[i];
                Block *b = &m->blocks[index];

                seen[index] = 1;
                if (!(b->flags & BLOCK_KNOWN) ||
                    (all && (b->flags & (BLOCK_POLICY_OFFLINE | BLOCK_FAILED)) &&
                     !(b->flags & BLOCK_QUEUED)))
                        (void)handle_block(
                                m, index, index < n_nodes && nodes[index] >= 0 ? nodes[index] : NODE_LOOK_UP,
                                false, 0);
        }

        /* A block removed while we were not listening (lost events). */
        for (size_t i = 0; i < m->n_blocks; i++)
                if ((m->blocks[i].flags & BLOCK_KNOWN) && !seen[i] && !(m->blocks[i].flags & BLOCK_QUEUED)) {
                        manager_block_set_state(m, i, BLOCK_OFFLINE, 0);
                        m->blocks[i] = (Block){ .node = -1 };
                }
        log_debug("Scanned %zu memory blocks, %zu queued", n, queue_size(&m->queue));
        if (queue_size(&m->queue) == 0 && m->options.once)
                (void)sd_event_exit(m->event, m->total_failed > 0 ? 1 : 0);
        onliner_notify_status(m);
        return 0;
}

int manager_rescan(Manager *m)
{
        return scan(m, false);
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
        _cleanup_(freep) char *error = NULL, *error_file = NULL;
        const char *fields[] = { NULL, NULL };
        char f_file[512];
        int r;

        r = config_load_full(m->options.config_path, m->options.config_required, NULL, ret, &error,
                             &error_file);
        if (r < 0) {
                /* The file at fault, which may be a drop-in, not the main file. */
                snprintf(f_file, sizeof(f_file), "CONFIG_FILE=%s", error_file ?: m->options.config_path);
                fields[0] = f_file;
                free(m->last_config_error);
                m->last_config_error = strdup(error ?: "Failed to load the configuration");
                manager_mark_dirty(m, DIRTY_CONFIG);
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

int manager_reload(Manager *m, const char **ret_error)
{
        _cleanup_(config_freep) Config *c = NULL;
        QueueEntry *chunk;
        size_t kept = 0;
        int r;

        (void)sd_notify(false, "RELOADING=1");
        r = config_read(m, &c);
        if (r < 0) {
                log_warning("Reload failed, keeping the configuration that was running");
                if (m->ready_sent)
                        (void)sd_notify(false, "READY=1");
                if (ret_error)
                        *ret_error = m->last_config_error;
                return r;
        }

        chunk = realloc(m->chunk, c->chunk_blocks * sizeof(QueueEntry));
        if (!chunk) {
                if (m->ready_sent)
                        (void)sd_notify(false, "READY=1");
                return log_oom();
        }
        m->chunk = chunk;
        config_free(m->config);
        m->config = TAKE_PTR(c);
        m->last_config_error = mfree(m->last_config_error);
        manager_mark_dirty(m, DIRTY_CONFIG);
        apply_log_level(m);
        log_policy_loaded(m);
        (void)kernel_auto_apply(m);

        /* What the policy queued was decided by the old one: decide again, along with what it left
         * offline. Explicit requests over D-Bus stay as they were asked. */
        for (size_t i = 0; i < m->queue.n; i++) {
                QueueEntry *e = &m->queue.entries[i];

                if (e->requested) {
                        m->queue.entries[kept++] = *e;
                        continue;
                }
                m->blocks[e->index].flags &= ~BLOCK_QUEUED;
                m->blocks[e->index].flags |= BLOCK_POLICY_OFFLINE;
                m->job.total--;
        }
        m->queue.n = kept;
        devices_reconsider(m);
        r = scan(m, true);
        onliner_maybe_finish(m);
        if (m->ready_sent)
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
                log_debug_errno(r, "Cannot look for racing udev rules, ignoring: %m");
                return;
        }
        for (size_t i = 0; i < n; i++)
                log_warning("%s: %s and races memhotplugd; mask it with: ln -s /dev/null %s", rules[i].path,
                            rules[i].what, strna(rules[i].mask));
        racing_rules_free(rules, n);
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
        bus_free(m);
        monitor_free(m->monitor);
        devices_free(m);
        sd_event_source_disable_unref(m->chunk_source);
        sd_event_source_disable_unref(m->timer_source);
        sd_event_unref(m->event);
        sysfs_free(m->sysfs);
        config_free(m->config);
        free(m->last_config_error);
        queue_clear(&m->queue);
        free(m->chunk);
        free(m->blocks);
        free(m);
        return NULL;
}

int manager_start(Manager *m)
{
        static const int signals[] = { SIGHUP, SIGINT, SIGTERM };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = sd_event_add_signal(m->event, NULL, signals[i] | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to install the signal handler: %m");
        }

        /* Sends WATCHDOG=1 when the service has WatchdogSec=: a stuck loop gets restarted. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

        r = onliner_setup(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the onliner: %m");

        r = memory_read_block_size(m->sysfs, &m->block_size);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Cannot read %s/devices/system/memory/block_size_bytes (no memory hotplug "
                        "support in this kernel?): %m",
                        sysfs_root(m->sysfs));
        log_info("Memory block size is %" PRIu64 " MiB", m->block_size >> 20);

        (void)kernel_auto_apply(m);
        warn_racing_agents(m);

        /* Listen before scanning, so that a block added in between is not missed. */
        if (!m->options.once) {
                r = monitor_new(m->event, m->config->uevent_source, on_uevent, on_overflow, m, &m->monitor);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen for %s uevents: %m",
                                               uevent_source_to_string(m->config->uevent_source));
                log_debug("Listening for memory uevents from %s",
                          uevent_source_to_string(m->config->uevent_source));
        }

        /* libdaxctl and libcxl read /sys themselves: with another root they would see the wrong tree. */
        m->dax_possible = streq(sysfs_root(m->sysfs), "/sys");

        if (m->config->scan_at_start || m->options.once) {
                /* Devices first: converting one adds blocks, and its blocks follow its rule. */
                (void)devices_scan(m);
                r = scan(m, false);
                if (r < 0)
                        return r;
        }

        /* Onlining never waits for D-Bus: the bus comes up (or not) on its own time. */
        if (!m->options.once && !m->options.no_bus) {
                r = bus_setup(m);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up D-Bus, continuing without it: %m");
        }

        /* READY=1 waits for the blocks found at start: the unit is ordered Before=sysinit.target,
         * so memory present at boot is online before the services that want it. */
        if (queue_size(&m->queue) == 0)
                manager_notify_ready(m);
        onliner_notify_status(m);
        return 0;
}

void manager_notify_ready(Manager *m)
{
        if (m->ready_sent)
                return;
        m->ready_sent = true;
        (void)sd_notify(false, "READY=1");
}

int manager_run(Manager *m)
{
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "dax-policy.h"
#include "event-util.h"
#include "log.h"
#include "monitor.h"
#include "parse-util.h"
#include "policy.h"
#include "queue.h"
#include "saved-settings.h"
#include "sysfs.h"
#include "virtio-mem.h"

/* What the manager remembers of a block between events; all of it can be rebuilt from sysfs. */
enum {
        BLOCK_KNOWN = 1 << 0,          /* present, and state/zone/node below are valid */
        BLOCK_QUEUED = 1 << 1,         /* waiting in the queue */
        BLOCK_POLICY_OFFLINE = 1 << 2, /* left offline by the policy: reconsidered on reload */
        BLOCK_FAILED = 1 << 3,         /* onlining failed for good: reconsidered on reload */
        BLOCK_USER_OFFLINE = 1 << 4,   /* offlined by someone else: never onlined again by the policy */
        BLOCK_ZONES_KNOWN = 1 << 5,    /* valid_zones and default_zone below were read */
        BLOCK_REMOVABLE_KNOWN = 1 << 6,
        BLOCK_REMOVABLE = 1 << 7,
        BLOCK_EARLY = 1 << 8,            /* boot memory: first seen by a scan, online in a kernel zone */
        BLOCK_DEFERRED_ADD = 1 << 9,     /* delegate: its "add" waits for the burst to be quiet */
        BLOCK_DEFERRED_ONLINE = 1 << 10, /* … and its "online" */
        BLOCK_RETRY = 1 << 11,           /* handling it ran out of memory: the retry scan takes it */
};

typedef struct Block {
        int32_t node;         /* -1: unknown */
        uint8_t state;        /* BlockState */
        uint8_t zone;         /* Zone of an online block; 0 when offline or not known */
        uint8_t valid_zones;  /* Zone mask of valid_zones when it was last read */
        uint8_t default_zone; /* its first entry */
        uint16_t flags;
        uint8_t planned_zone; /* Zone it is queued for (counted by Online=auto-movable) */
        uint32_t burst;       /* the hot-add burst its "add" came in (blocks.c); 0: none */
        uint32_t queued_why;  /* while queued: 1 + its decision's index in Manager.queued_whys */
} Block;

/* The decision a block was queued with, for Plan: a dry run then would count the block's own queued
 * group against it ("group has memory in a kernel zone"). One for the blocks of a group. */
typedef struct QueuedWhy {
        OnlineType type;
        Zone zone;
        char *rule;
        DecisionBasis basis;
        OnlineType asked;
        bool have_valid_zones;
        PlacementResult placement; /* DECISION_AUTO_MOVABLE: the arithmetic */
} QueuedWhy;

typedef struct ManagerOptions {
        const char *config_path;
        bool config_required; /* --config was given: a missing file is an error */
        const char *sysfs_root;
        const char *iomem_path; /* /proc/iomem, or a copy of one (tests) */
        const char *runtime_dir;
        bool once;
        bool no_bus;
        const char *udev_rules_dirs; /* where to look for rules that race us */
        int log_level;               /* from the command line, -1 if not given */
} ManagerOptions;

/* The blocks queued since the queue was last empty, and how each ended: done (by us or, raced,
 * by another agent), removed before it could be handled, or failed. */
typedef struct JobError {
        int error; /* positive errno */
        unsigned n;
} JobError;

#define JOB_ERRORS_MAX 4
typedef struct Job {
        unsigned total, done, raced, removed, failed, cancelled;
        /* Why they failed, for the summary: the first JOB_ERRORS_MAX errnos seen, and a count of the
         * failures with any other. */
        JobError errors[JOB_ERRORS_MAX];
        unsigned errors_other;
} Job;

typedef struct Outcomes Outcomes;
typedef struct Bus Bus;
typedef struct Device Device;
typedef struct Placement Placement;

/* The memory_hotplug module parameters KernelAutoOnline=delegate may set (kernel-delegate.c). */
typedef enum DelegateParam {
        DELEGATE_PARAM_ONLINE_POLICY,
        DELEGATE_PARAM_RATIO,
        DELEGATE_PARAM_NUMA_AWARE,
        _DELEGATE_PARAM_MAX,
} DelegateParam;

typedef struct NodeWaiting {
        unsigned index;
        uint64_t since; /* now_usec() of its "add" */
} NodeWaiting;
typedef struct StateWriter StateWriter;

typedef struct Manager {
        sd_event *event;
        Sysfs *sysfs;
        Config *config;
        char *last_config_error;
        ManagerOptions options;
        Monitor *monitor;

        Queue queue;
        QueueEntry *chunk; /* ChunkBlocks entries, reused */
        sd_event_source *chunk_source;
        Timer *pause_timer; /* the pause between chunks, or the next retry */
        bool pausing;
        StateWriter *writer; /* offline writes, off the loop; created on first use */
        QueueEntry inflight; /* the entry the writer is writing */

        NodeWaiting *node_waiting; /* new blocks without a node link yet, oldest first (blocks.c) */
        size_t n_node_waiting;
        Timer *node_wait_timer;
        bool burst_open;         /* "add" uevents since the last look for more of their hot-add (blocks.c) */
        uint32_t burst_seq;      /* the number of the latest burst of "add" uevents (blocks.c) */
        uint64_t new_blocks_seq; /* counts "add" uevents and scans: blocks may have come (blocks.c) */
        /* The Online=auto-movable decision the block queued last had (blocks.c); no rule: none. */
        char last_queued_rule[80];
        PlacementResult last_queued_placement;
        QueuedWhy *queued_whys; /* the decisions of the current job's blocks (blocks.c) */
        size_t n_queued_whys;
        bool burst_draining; /* taking the rest of a burst off the socket: still the same burst */
        unsigned *deferred;  /* delegate: blocks whose uevents wait for a quiet burst (blocks.c) */
        size_t n_deferred;
        uint64_t deferred_since;
        Timer *deferred_timer;
        Timer *retry_timer; /* the scan after an allocation failed (blocks.c) */

        Block *blocks; /* by block index */
        size_t n_blocks;
        uint64_t block_size;
        bool ready_sent; /* READY=1: the blocks present at start are handled */
        bool locked;     /* LockMemory= in effect (memlock.c) */

        char kernel_auto_original[32]; /* the kernel's setting; what we restore on stop if we took over */
        KernelAutoOnline kernel_auto_mode;   /* in effect: the config's, or respect if takeover failed */
        char *kernel_auto_fallback;          /* why the configured mode is not in effect, or NULL */
        SavedSetting settings[_SETTING_MAX]; /* the kernel's values we changed (saved-settings.h) */
        bool tiering_checked[NODE_INDEX_MAX + 1]; /* nodes whose tier warning was considered */

        Device *devices;
        size_t n_devices;
        bool dax_possible; /* libdaxctl and libcxl can reach the tree (the sysfs root is /sys) */

        Job job;
        unsigned total_onlined, total_failed;

        Outcomes *outcomes; /* the subscriber and the properties that changed (outcome.c) */
        Bus *bus;           /* the D-Bus connection and its state, once it is set up (bus.c) */

        sd_event_source *marks_source; /* saves the offline marks after each loop iteration */
        sd_event_source *exit_source;  /* ends the work under way before the bus closes */
        bool work_finished;            /* ... which it did */
        unsigned marks_saved;          /* the set last saved: its size and sum (offline-marks.c) */
        uint64_t marks_sum;
        bool marks_failed;
        Placement *placement;       /* Online=auto-movable's view of groups (placement-facts.c) */
        OnlineType platform_online; /* what Online=platform means here, and why */
        char platform_reason[160];
        VirtioMemMap virtio_mem;   /* which blocks each virtio-mem device added (virtio-mem.c) */
        char virtio_mem_note[160]; /* why virtio-mem devices are not grouped; "" when they are */
} Manager;

int manager_new(const ManagerOptions *o, Manager **ret);
/* Reads what a previous run saved of the kernel settings it changed and did not give back (it was
 * killed), before anything can fail: manager_stop() gives it back on every exit path. */
void manager_recover_settings(Manager *m);
/* Undoes what the daemon changed in the kernel (saved-settings.h) before it exits. */
void manager_stop(Manager *m);
/* Only frees: manager_stop() is the step that touches the system. */
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m)
{
        manager_free(*m);
}

/* Reads the configuration; at start a failure is fatal (the caller exits 78). */
int manager_load_config(Manager *m);
int manager_start(Manager *m);
void manager_notify_ready(Manager *m);
int manager_run(Manager *m);
/* On failure, *ret_error (if given) holds the "file:line: what" of the config error. */
int manager_reload(Manager *m, const char **ret_error);
int manager_rescan(Manager *m);
/* At runtime (LogControl1). A level set so holds until the daemon restarts, as one given with
 * --log-level does: a reload does not put the config's LogLevel= back. */
void manager_set_log_level(Manager *m, int level);
void manager_set_log_target(Manager *m, LogTarget target);

/* The block table. */
Block *manager_block(Manager *m, unsigned index); /* grows the table; NULL on OOM */
static inline bool manager_block_present(const Manager *m, unsigned index)
{
        return index < m->n_blocks && (m->blocks[index].flags & BLOCK_KNOWN);
}
void manager_block_set_state(Manager *m, unsigned index, BlockState state, Zone zone);
/* Records valid_zones as just read. The bus answers ValidZones from here: reading valid_zones when
 * an unprivileged caller asks would cost a sysfs read per block and call, and the kernel must not be
 * asked for it at the wrong moment (see memblock_read()). */
void manager_block_set_zones(Manager *m, unsigned index, const BlockFacts *f);
/* valid_zones as last read: the zone an online block is in, "" when the kernel has none. */
void manager_block_valid_zones(const Manager *m, unsigned index, char *buf, size_t size);
/* "removable", read once per block (it does not change while the block exists; since Linux 5.8 it
 * is always 1). */
bool manager_block_removable(Manager *m, unsigned index);
/* The section of the config that decides for a block on this node. */
void manager_block_rule(const Manager *m, int node, char *buf, size_t size);

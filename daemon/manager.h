/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "block.h"
#include "dax-policy.h"
#include "event-util.h"
#include "log.h"
#include "parse-util.h"
#include "policy.h"
#include "queue.h"
#include "saved-settings.h"
#include "sysfs.h"
#include "virtio-mem.h"

typedef struct ManagerOptions {
        const char *config_path;
        bool config_required; /* --config was given: a missing file is an error */
        const char *sysfs_root;
        const char *iomem_path; /* /proc/iomem, or a copy of one (tests) */
        const char *proc_root;  /* /proc, for zoneinfo and vmstat; a fake one in tests */
        const char *runtime_dir;
        const char *credentials_dir; /* $CREDENTIALS_DIRECTORY: the memhotplugd.conf credential */
        const char *metrics_file;    /* --metrics-file: over MetricsFile=; "" none; NULL the config's */
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

/* Properties that changed since they were last announced on the bus (announced once per loop
 * iteration, however many blocks changed). Any stage marks them with manager_mark_dirty(); the
 * outcome stage keeps them for the bus. */
enum {
        DIRTY_TOTALS = 1 << 0,
        DIRTY_JOB = 1 << 1,
        DIRTY_CONFIG = 1 << 2,
        DIRTY_KERNEL = 1 << 3,
        DIRTY_DEVICES = 1 << 4,
};

typedef struct Intake Intake;
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

typedef struct Onliner Onliner;
typedef struct Decider Decider;

/* The daemon's own life, which manager.c alone looks after: from the start's memory lock and READY=1
 * to the exit, which ends the work under way before the bus closes. */
typedef struct ManagerLife {
        bool ready_sent; /* READY=1: the blocks present at start are handled */
        bool locked;     /* LockMemory= in effect (memlock.c) */
        sd_event_source *exit_source;
        bool work_finished; /* ... which the exit did */
} ManagerLife;

typedef struct Manager {
        sd_event *event;
        Sysfs *sysfs;
        Config *config;
        char *last_config_error;
        ManagerOptions options;
        Intake *intake; /* uevents and scans in, blocks out ready (intake.c) */

        Onliner *onliner; /* the queue, the chunks, the job (onliner.c) */
        Decider *decider; /* what deciding remembers between blocks (blocks.c) */

        Block *blocks; /* by block index */
        size_t n_blocks;
        uint64_t block_size;

        struct KernelSettings *kernel; /* the kernel settings we change (kernel-auto.h) */

        struct DeviceTable *devices; /* the dax devices (devices.h) */

        Outcomes *outcomes;      /* the subscriber and the properties that changed (outcome.c) */
        struct Metrics *metrics; /* counters and the metrics file, fed by outcome.c (metrics.c) */
        Bus *bus;                /* the D-Bus connection and its state, once it is set up (bus.c) */

        struct OfflineMarks *marks; /* saves the offline marks after each loop iteration */
        ManagerLife life;
        Placement *placement;      /* Online=auto-movable's view of groups (placement-facts.c) */
        struct Platform *platform; /* Online=platform's meaning, the virtio-mem map (platform-facts.h) */
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
/* Makes the decider, the onliner and the intake, each wired to the stages above it. */
int manager_setup_stages(Manager *m);
/* At runtime (LogControl1). A level set so holds until the daemon restarts, as one given with
 * --log-level does: a reload does not put the config's LogLevel= back. */
void manager_set_log_level(Manager *m, int level);
void manager_set_log_target(Manager *m, LogTarget target);

/* The block table. */
Block *manager_block(Manager *m, unsigned index); /* grows the table; NULL on OOM */
static inline bool manager_block_present(const Manager *m, unsigned index)
{
        return index < m->n_blocks && block_known(&m->blocks[index]);
}
/* These properties changed (DIRTY_*): the outcome stage keeps the flags and wakes the bus. */
void manager_mark_dirty(Manager *m, unsigned what);
/* A device was touched (devices_hotplug_touch()): the outcome stage judges it once the daemon is idle. */
void manager_devices_touched(Manager *m);
/* Its HotplugState or HotplugConsistent changed: the outcome stage tells the subscriber. */
void manager_device_changed(Manager *m, const char *name);
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

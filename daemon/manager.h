/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "monitor.h"
#include "queue.h"
#include "sysfs.h"

/* What the manager remembers of a block between events; all of it can be rebuilt from sysfs. */
enum {
        BLOCK_KNOWN = 1 << 0,          /* seen present */
        BLOCK_QUEUED = 1 << 1,         /* waiting in the queue */
        BLOCK_POLICY_OFFLINE = 1 << 2, /* left offline by the policy: reconsidered on reload */
        BLOCK_FAILED = 1 << 3,         /* onlining failed for good: reconsidered on reload */
        BLOCK_USER_OFFLINE = 1 << 4,   /* offlined by someone else: never onlined again by us */
};

typedef struct ManagerOptions {
        const char *config_path;
        bool config_required; /* --config was given: a missing file is an error */
        const char *sysfs_root;
        const char *runtime_dir;
        bool once;
        int log_level; /* from the command line, -1 if not given */
} ManagerOptions;

typedef struct Job {
        unsigned total, done, raced, failed;
} Job;

typedef struct Manager {
        sd_event *event;
        Sysfs *sysfs;
        Config *config;
        ManagerOptions options;
        Monitor *monitor;

        Queue queue;
        QueueEntry *chunk; /* ChunkBlocks entries, reused */
        sd_event_source *chunk_source;
        sd_event_source *timer_source;

        uint8_t *blocks; /* BLOCK_* flags, by block index */
        size_t n_blocks;
        uint64_t block_size;

        char kernel_auto_original[32]; /* what we restore on exit, when we took over */
        bool took_over;

        Job job;
        unsigned total_onlined, total_failed;
        int exit_code;
} Manager;

int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m)
{
        manager_free(*m);
}

/* Reads the configuration; at start a failure is fatal (the caller exits 78). */
int manager_load_config(Manager *m);
int manager_start(Manager *m);
int manager_run(Manager *m);
int manager_reload(Manager *m);
int manager_rescan(Manager *m);

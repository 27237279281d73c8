/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "dax.h"
#include "manager.h"
#include "memblock.h"
#include "placement.h"

/* The intake stage: uevents and scans in, blocks out "ready", in address order. The only place that
 * waits for the kernel: a new block is handed on once its node link is there, its ACPI memory device
 * has claimed it (or it waited long enough for either), and, with KernelAutoOnline=delegate, the
 * burst of uevents it came in is quiet (the monitor's batching). It knows nothing of the stages
 * above it: what it hands on goes through IntakeHooks, which manager.c wires at setup; so do the
 * stage's other files (devices.c, placement-facts.c), through the intake_*() calls below. */

typedef struct IntakeHooks {
        /* A block is ready: f holds its facts, just read. from_add: a new block the kernel
         * announced, which it may be about to online itself. */
        int (*ready)(void *userdata, unsigned index, const BlockFacts *f, bool from_add);
        /* "online", "offline" and "remove" uevents of a known block. */
        void (*online)(void *userdata, unsigned index);
        void (*offline)(void *userdata, unsigned index);
        void (*removed)(void *userdata, unsigned index);
        /* A scan went through every block present (n of them). */
        void (*scanned)(void *userdata, size_t n);
        /* A device's decision came or changed: its blocks are to be decided again. */
        void (*reconsider)(void *userdata, const unsigned *indices, size_t n);
        /* The Online=auto-movable arithmetic a queued block was decided with, NULL when none was
         * kept; valid until the next block is queued. */
        const PlacementResult *(*queued_arithmetic)(void *userdata, unsigned index);
        /* One write of a dax device's state onlined these blocks (Linux 7.3): they count as onlined
         * in the job under way, never queued (onliner_count_onlined()). */
        void (*device_onlined)(void *userdata, const unsigned *indices, size_t n);
        /* A write of a dax device's state for the offline thread (onliner_write_device()), and
         * whether one of the device's is in flight or waiting (onliner_device_writing()). */
        int (*device_write)(void *userdata, const DeviceWrite *w);
        bool (*device_writing)(void *userdata, const char *name);
} IntakeHooks;

/* Makes the timers, so that arming one later allocates nothing. */
int intake_new(Manager *m, const IntakeHooks *hooks, void *userdata, Intake **ret);
Intake *intake_free(Intake *in);
/* Listens for memory and dax uevents. */
int intake_listen(Intake *in, UeventSource source);
/* KernelAutoOnline=delegate in effect or not: with it the kernel onlines new memory itself, no
 * uevent is urgent, and the socket is read once a burst is quiet. Accepts NULL. */
void intake_set_delegate(Intake *in, bool delegate);

/* A "memory" uevent. */
void intake_on_uevent(Intake *in, const char *action, const char *sysname);
/* Handles every block not seen yet; with all, also the ones the policy or a failure left offline
 * (after a reload, the policy may say otherwise now). Blocks that vanished are forgotten. */
int intake_scan(Intake *in, bool all);
/* Reads the block's facts and hands it on, now (its decision may have changed). */
int intake_look_again(Intake *in, unsigned index);
/* The blocks a dax device's state write onlined, handed up (IntakeHooks.device_onlined). */
void intake_device_onlined(Intake *in, const unsigned *indices, size_t n);
/* A dax device's state write, handed up to the offline thread (IntakeHooks.device_write); its end
 * comes back through devices_hotplug_written(). */
int intake_device_write(Intake *in, const DeviceWrite *w);
bool intake_device_writing(const Intake *in, const char *name);
/* One job per hot-add: called when a job that onlined blocks is about to finish. An online write
 * returns only once the kernel's add is over (it waits for device_hotplug_lock), so every block of
 * the burst exists and is linked to its node by now: the ones whose "add" is still queued on the
 * socket, or that still wait for their link, are handed on now, into the same job. */
void intake_collect_burst(Intake *in);

/* When the latest burst's first "add" uevent came (now_usec()), if burst is that one; else 0
 * (the metrics' hot-add time). Accepts NULL. */
uint64_t intake_burst_started(const Intake *in, uint32_t burst);

/* A block (or, with BLOCK_INDEX_NONE, a uevent) could not be handled for want of memory: a scan
 * looks at it again in a moment. Allocates nothing. */
#define BLOCK_INDEX_NONE UINT_MAX
void intake_retry_later(Intake *in, unsigned index);
/* The same, logged: "Failed to <what>, looking at it again in 1s"; returns error. */
int intake_retry_block(Intake *in, unsigned index, int node, int error, const char *what);

/* Hands these blocks up to be decided again (IntakeHooks.reconsider). */
void intake_reconsider(Intake *in, const unsigned *indices, size_t n);
/* IntakeHooks.queued_arithmetic; NULL without an intake. */
const PlacementResult *intake_queued_arithmetic(const Intake *in, unsigned index);

/* Counts "add" uevents and scans: when it moved, blocks may have come (placement-facts.c rereads
 * the maps of devices then). */
uint64_t intake_new_blocks_seq(const Intake *in);
/* The blocks still waiting for their node link or ACPI memory device (tests). */
size_t intake_n_waiting(const Intake *in);
bool intake_retry_armed(const Intake *in);

static inline void intake_freep(Intake **in)
{
        intake_free(*in);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "dax.h"
#include "outcome-types.h"

/* The chunked onliner: the queue of blocks to write, the chunks, the job they make up, and the
 * operations the bus asks for (online or offline a block on request, cancel). Its state is its own
 * (struct Onliner, private to onliner.c): every change to the queue and the job counters happens in
 * onliner.c; others read them through the functions below. */
typedef struct Onliner Onliner;

enum {
        ENQUEUE_RECHECK = 1 << 0,   /* read the state first: the kernel may online it itself */
        ENQUEUE_REQUESTED = 1 << 1, /* asked for over D-Bus: a reload does not decide it again */
};

/* What the onliner hands on, up to outcome and over to intake (the rest of a burst): it calls
 * neither, manager.c wires these at setup. Each is called at once, where the onliner used to make
 * the call itself, so the order of calls is as it was. */
typedef struct OnlinerHooks {
        /* A block's outcome (outcome_block()): the job's counters already count it. */
        void (*outcome)(void *userdata, const Outcome *o);
        /* The queue ran dry; job is the finished job (onliner_job() is already reset). */
        void (*job_finished)(void *userdata, const Job *job);
        /* A job is about to end, so that the rest of its hot-add joins it rather than making a job
         * of its own (intake_collect_burst()). */
        void (*job_ending)(void *userdata);
        /* A device write is over (onliner_write_device()): result and interrupted as state-writer.h
         * has them. Called in the loop; it may ask for the next write. */
        void (*device_written)(void *userdata, const DeviceWrite *w, int result, int interrupted);
} OnlinerHooks;

/* Made at start, once the config is loaded (ChunkBlocks sizes its chunk); the sources stay off until
 * a block is queued. */
int onliner_new(Manager *m, const OnlinerHooks *hooks, void *userdata, Onliner **ret);
Onliner *onliner_free(Onliner *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Onliner *, onliner_free);
/* For a reload that changes ChunkBlocks, before the new config is taken: out of memory, the old
 * config stays and the chunk is as it was. */
int onliner_resize_chunk(Onliner *o, unsigned chunk_blocks);

/* The job under way: the blocks queued since the queue was last empty, and how each ended. Its
 * counters are the onliner's alone: it opens the job (the first block queued), counts each block in
 * and out as it ends and closes the job when the queue runs dry, and its STATUS= line reads them. */
const Job *onliner_job(const Onliner *o);
/* Blocks waiting in the queue (not the one being offlined). */
size_t onliner_queued(const Onliner *o);
/* Since the start: blocks onlined, and blocks whose onlining failed for good. */
void onliner_totals(const Onliner *o, unsigned *ret_onlined, unsigned *ret_failed);
/* Blocks that one write of their dax device's state onlined (Linux 7.3): counted in the job under
 * way (or one of their own) as onlined by us, never queued. */
void onliner_count_onlined(Manager *m, const unsigned *indices, size_t n);
/* Queues a block for the policy (or, with ENQUEUE_REQUESTED, for a caller). not_before: µs on
 * CLOCK_MONOTONIC, 0 for at once. A block already queued stays as it was queued. */
int onliner_enqueue(Manager *m, unsigned index, int node, OnlineType type, Zone zone, unsigned flags,
                    uint64_t not_before);
void onliner_schedule(Manager *m);
void onliner_maybe_finish(Manager *m);
void onliner_notify_status(Manager *m);

/* What a request for one block came to at once; the negative errnos are failures, and
 * -EDOM means valid_zones does not offer the zone asked for. REQUEST_QUEUED blocks are answered
 * through bus_block_done() when they are done. */
#define REQUEST_QUEUED  0
#define REQUEST_ALREADY 1
int onliner_request_online(Manager *m, unsigned index, OnlineType type);
/* Cancels what the policy had queued for the block, then offlines it; the policy will not online
 * it again until it is re-added or onlined on request. */
int onliner_request_offline(Manager *m, unsigned index);

/* The block left the queue without being written: someone else onlined it (result 0) or it was
 * removed (-ENODEV), or a request overruled the policy (-ECANCELED). Returns whether it was
 * queued. */
bool onliner_settle(Manager *m, unsigned index, int result);
/* Stops the offlining under way: the queued offlines are dropped, each answered -ECANCELED through
 * bus_block_done(), and the write in flight is interrupted (the kernel gives up its retry, the block
 * stays online). Its outcome comes through bus_block_done() when the write ends, and it is the truth:
 * -ECANCELED, or 0 if the kernel finished the offline before the signal reached it. A cancelled
 * offline is never retried. *ret_blocks: the dropped blocks, then the one in flight
 * (*ret_inflight). */
int onliner_cancel_offline(Manager *m, unsigned **ret_blocks, size_t *ret_n, bool *ret_inflight);
/* At exit, with the loop stopped: interrupts the offline in flight and waits at most timeout_usec
 * for its outcome, which is then recorded as any other (state, mark, journal, waiting calls).
 * Returns false if the write had not ended by then. */
bool onliner_stop(Manager *m, uint64_t timeout_usec);
/* Drops the queued offline of one block (answered -ECANCELED); returns whether there was one. */
bool onliner_cancel_queued_offline(Manager *m, unsigned index);
/* What a result of a state write means for the block, in words (for logs and D-Bus replies). */
#define ONLINER_REASON_MAX 256
const char *onliner_result_reason(Manager *m, unsigned index, int result, char *buf, size_t size);

/* Hands a device write to the offline thread, now or after the write in flight; its end goes to the
 * device_written hook. Errors (it never ran): -ENOMEM, or the errno of opening the device. */
int onliner_write_device(Manager *m, const DeviceWrite *w);
/* Whether a write of the device is in flight or waiting. */
bool onliner_device_writing(const Onliner *o, const char *name);

/* After a reload: entries the old policy queued go back to being decided; requests stay. */
void onliner_drop_policy_entries(Manager *m);

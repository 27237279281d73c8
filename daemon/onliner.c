/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "blocks.h"
#include "dax.h"
#include "event-util.h"
#include "log.h"
#include "memblock.h"
#include "message-ids.h"
#include "onliner.h"
#include "state-writer.h"
#include "time-util.h"

/* The chunked onliner: takes ChunkBlocks entries off the queue, writes them back to back (the
 * kernel serialises onlining anyway, so one writer is as fast as it gets), then returns to the
 * event loop before the next chunk.
 *
 * Onlining is written here, in the loop: it allocates the memmap and frees the pages into the
 * buddy allocator, bounded work of a few milliseconds per block that never waits for anything.
 * Offlining is written by the StateWriter, on a thread: the kernel migrates every page off the
 * block and retries until it can, which may take seconds or forever. While an offline is in
 * flight the queue waits: the kernel takes device_hotplug_lock for every state write, and an
 * online written now would spin on it (restart_syscall() every 5 ms) inside the loop. */

/* Times are now_usec(), not the event loop's time of wakeup: a chunk of writes can take longer than
 * the pause that is to follow it. */

struct Onliner {
        Queue queue;
        QueueEntry *chunk; /* ChunkBlocks entries, reused */
        sd_event_source *chunk_source;
        Timer *pause_timer; /* the pause between chunks, or the next retry */
        bool pausing;
        StateWriter *writer; /* offline writes, off the loop; created on first use */
        QueueEntry inflight; /* the entry the writer is writing */
        /* Linux 7.3's daxX.Y/state writes, on the same thread as the offlines so that no block write
         * of the same memory runs meanwhile: the one in flight (device_busy), then those waiting for
         * the thread, in the order they were asked for. */
        DeviceWrite device_inflight;
        bool device_busy;
        bool stopping; /* the exit: no device write starts any more */
        DeviceWrite *device_waiting;
        size_t n_device_waiting;
        /* The blocks queued since the queue was last empty and how each ended; and since the start. */
        Job job;
        unsigned total_onlined, total_failed;
        /* Where outcomes go, and the call as a job is about to end (the queue ran dry): the rest of
         * its hot-add may still be on its way in (intake_collect_burst(), a stage the onliner sits
         * above and does not call). manager.c wires them. */
        const OnlinerHooks *hooks;
        void *userdata;
};

static bool offline_in_flight(const Onliner *o)
{
        return o->writer && state_writer_busy(o->writer);
}

void onliner_notify_status(Manager *m)
{
        const Onliner *o;

        assert(m);

        o = m->onliner;

        if (o->device_busy)
                (void)sd_notifyf(false, "STATUS=Writing %s to %s/state", o->device_inflight.value,
                                 o->device_inflight.name);
        else if (offline_in_flight(o))
                (void)sd_notifyf(false, "STATUS=Offlining memory%u: %u/%u blocks done, %u failed",
                                 state_writer_index(o->writer), o->job.done + o->job.failed, o->job.total,
                                 o->job.failed);
        else if (o->job.total > 0)
                (void)sd_notifyf(false, "STATUS=Onlining memory blocks: %u/%u done, %u failed",
                                 o->job.done + o->job.failed, o->job.total, o->job.failed);
        else
                (void)sd_notifyf(false, "STATUS=Idle: %u blocks onlined since start, %u failed",
                                 o->total_onlined, o->total_failed);
}

int onliner_enqueue(Manager *m, unsigned index, int node, OnlineType type, Zone zone, unsigned flags,
                    uint64_t not_before)
{
        QueueEntry e = {
                .index = index,
                .node = node,
                .phys_index = index,
                .type = type,
                .zone = zone,
                .recheck = flags & ENQUEUE_RECHECK,
                .requested = flags & ENQUEUE_REQUESTED,
                .not_before = not_before,
        };
        Onliner *o;
        Block *b;
        int r;

        assert(m);

        o = m->onliner;
        b = manager_block(m, index);

        if (!b)
                return -ENOMEM;
        if (b->life == BLOCK_LIFE_QUEUED)
                return 0;
        r = queue_push(&o->queue, &e);
        if (r < 0)
                return r;
        block_queued(b);
        b->queued_why = 0; /* the caller keeps the decision, if it has one (blocks.c) */
        o->job.total++;
        manager_mark_dirty(m, DIRTY_JOB);
        onliner_schedule(m);
        return 0;
}

/* " (EIO: 2, EBUSY: 1)": why the job's blocks failed, by errno name. */
static void job_format_errors(const Job *job, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < JOB_ERRORS_MAX && job->errors[i].n > 0; i++)
                n += snprintf(buf + n, n < size ? size - n : 0, "%s%s: %u", i ? ", " : " (",
                              strerrorname_np(job->errors[i].error) ?: "?", job->errors[i].n);
        if (job->errors_other > 0)
                n += snprintf(buf + n, n < size ? size - n : 0, ", other: %u", job->errors_other);
        if (n > 0 && n < size)
                snprintf(buf + n, size - n, ")");
}

static void job_finish(Manager *m)
{
        char f_total[32], f_done[32], f_failed[32], f_removed[32];
        const char *fields[] = { f_total, f_done, f_failed, f_removed, NULL };
        Onliner *o = m->onliner;
        Job job = o->job;
        char removed[48], cancelled[32], errors[128];

        blocks_forget_queued_whys(m);
        if (job.total == 0) {
                /* The queue ran dry: whatever was present at start is handled now. */
                manager_notify_ready(m);
                return;
        }
        snprintf(f_total, sizeof(f_total), "JOB_BLOCKS=%u", job.total);
        snprintf(f_done, sizeof(f_done), "JOB_DONE=%u", job.done);
        snprintf(f_failed, sizeof(f_failed), "JOB_FAILED=%u", job.failed);
        snprintf(f_removed, sizeof(f_removed), "JOB_REMOVED=%u", job.removed);
        /* Removed blocks are neither done nor failed: the memory went away (an unplug). */
        snprintf(removed, sizeof(removed), ", %u removed before they were handled", job.removed);
        snprintf(cancelled, sizeof(cancelled), ", %u cancelled", job.cancelled);
        job_format_errors(&job, errors, sizeof(errors));
        log_fields_errno(job.failed ? LOG_WARNING : LOG_INFO, 0, MHP_MESSAGE_JOB_FINISHED, fields,
                         "Finished: %u of %u blocks done (%u by another agent), %u failed%s%s%s", job.done,
                         job.total, job.raced, job.failed, errors, job.removed > 0 ? removed : "",
                         job.cancelled > 0 ? cancelled : "");
        o->job = (Job){};
        manager_mark_dirty(m, DIRTY_JOB);
        onliner_notify_status(m);
        o->hooks->job_finished(o->userdata, &job);
        /* Only now, after the job's capacity event is in the runtime file: READY=1 lets the boot go on
         * to paths.target, and memhotplugd-capacity.path must find the boot's memory already there,
         * not see it arrive as a change. */
        manager_notify_ready(m);
}

void onliner_maybe_finish(Manager *m)
{
        const Onliner *o;

        assert(m);

        o = m->onliner;

        if (queue_size(&o->queue) == 0 && !offline_in_flight(o))
                job_finish(m);
}

static void job_note_error(Job *job, int error)
{
        for (size_t i = 0; i < JOB_ERRORS_MAX; i++)
                if (job->errors[i].n == 0 || job->errors[i].error == error) {
                        job->errors[i].error = error;
                        job->errors[i].n++;
                        return;
                }
        job->errors_other++;
}

/* The entry's part in the job is over: counted here, where the job is made and ended, then reported
 * (a subscriber that reads the job then sees it counted). offline_reason: why an offline ended, NULL
 * for an online. */
static void entry_handled(Manager *m, unsigned index, int result, bool raced, const char *offline_reason)
{
        Onliner *o = m->onliner;
        Job *job = &o->job;

        if (raced)
                job->raced++;
        if (result == -ENODEV)
                job->removed++;
        else if (result == -ECANCELED || result == -ESHUTDOWN)
                job->cancelled++;
        else if (result < 0) {
                job->failed++;
                job_note_error(job, -result);
        } else
                job->done++;
        o->hooks->outcome(o->userdata, &(Outcome){ .kind = OUTCOME_HANDLED,
                                                   .index = index,
                                                   .result = result,
                                                   .raced = raced,
                                                   .offline_reason = offline_reason });
}

static void entry_failed(Manager *m, QueueEntry *e, int r, const char *word)
{
        Onliner *o = m->onliner;
        Block *b = &m->blocks[e->index];

        e->attempts++;
        if (e->attempts < m->config->max_attempts) {
                uint64_t delay = m->config->retry_usec * e->attempts;

                log_block(LOG_WARNING, r, NULL, e->index, e->node, e->zone,
                          "Writing \"%s\" to state failed (attempt %u of %u): %m; retrying in %.1fs", word,
                          e->attempts, m->config->max_attempts, (double)delay / USEC_PER_SEC);
                e->not_before = now_usec() + delay;
                if (queue_push(&o->queue, e) >= 0) {
                        block_queued(b);
                        return;
                }
        }
        if (e->type == ONLINE_TYPE_OFFLINE) {
                char reason[ONLINER_REASON_MAX];

                log_block(LOG_ERR, r, MHP_MESSAGE_BLOCK_OFFLINE_FAILED, e->index, e->node, 0,
                          "Offlining failed after %u attempts: %s", e->attempts,
                          onliner_result_reason(m, e->index, r, reason, sizeof(reason)));
                block_release(b); /* still online */
                entry_handled(m, e->index, r, false, reason);
        } else {
                log_block(LOG_ERR, r, MHP_MESSAGE_BLOCK_ONLINE_FAILED, e->index, e->node, e->zone,
                          "Onlining failed after %u attempts, leaving it offline: %m", e->attempts);
                block_failed(b);
                o->total_failed++;
                entry_handled(m, e->index, r, false, NULL);
        }
}

static void offline_done(Manager *m, QueueEntry *e, int r)
{
        char reason[ONLINER_REASON_MAX];

        (void)onliner_result_reason(m, e->index, r, reason, sizeof(reason));
        if (r == -ETIMEDOUT)
                log_block(LOG_WARNING, r, MHP_MESSAGE_BLOCK_OFFLINE_FAILED, e->index, e->node, 0,
                          "Offlining %s", reason);
        else
                log_block(LOG_INFO, 0, NULL, e->index, e->node, 0, "Offlining %s", reason);
        block_release(&m->blocks[e->index]); /* still online */
        entry_handled(m, e->index, r, false, reason);
}

/* What a write of the entry's state came to; counts and logs it. interrupted: for an offline the
 * loop was interrupting, the errno it asked for (state-writer.h), else 0. */
static void entry_written(Manager *m, QueueEntry *e, int r, int interrupted)
{
        const char *word = online_type_to_sysfs(e->type);
        BlockState want = e->type == ONLINE_TYPE_OFFLINE ? BLOCK_OFFLINE : BLOCK_ONLINE;
        const Onliner *o = m->onliner;
        Block *b = &m->blocks[e->index];
        BlockState st;

        if (!manager_block_present(m, e->index))
                r = -ENODEV; /* its remove uevent came while the write was in flight */
        if (r == -EINVAL && memblock_read_state(m->sysfs, e->index, &st) >= 0 && st == want) {
                /* The kernel says EINVAL to a block already in the state asked for: someone else won
                 * the race. */
                log_block(LOG_INFO, 0, NULL, e->index, e->node, 0,
                          "Already %s: another agent got there first, counted as done",
                          block_state_to_string(st));
                entry_handled(m, e->index, 0, true,
                              want == BLOCK_OFFLINE ? "offlined by another agent" : NULL);
                return;
        }
        if (r == -ENOENT || r == -ENODEV) {
                log_block(LOG_INFO, 0, NULL, e->index, e->node, 0, "Removed before it could be handled");
                /* Gone from the table now, so its remove uevent will find nothing to announce. */
                if (block_known(b))
                        o->hooks->outcome(o->userdata,
                                          &(Outcome){ .kind = OUTCOME_REMOVED, .index = e->index });
                block_forget(b);
                entry_handled(m, e->index, -ENODEV, false, want == BLOCK_OFFLINE ? "removed" : NULL);
                return;
        }
        if (r < 0 && interrupted < 0 && r != interrupted) {
                /* The kernel gave its own answer (EBUSY) as the signal came. Whoever stopped the write
                 * (CancelJob, OfflineTimeoutSec=, the exit) was told the block stays online, and it
                 * does: the write is over and is never retried. */
                log_block(LOG_INFO, r, NULL, e->index, e->node, 0,
                          "The offline ended with %m while it was being interrupted, not retrying");
                r = interrupted;
        }
        if (r == -ETIMEDOUT || r == -ECANCELED || r == -ESHUTDOWN) {
                offline_done(m, e, r);
                return;
        }
        if (r < 0) {
                entry_failed(m, e, r, word);
                return;
        }

        if (want == BLOCK_OFFLINE) {
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_OFFLINED, e->index, e->node, 0,
                          "Offlined on request");
                manager_block_set_state(m, e->index, BLOCK_OFFLINE, 0);
                entry_handled(m, e->index, 0, false, "offlined");
        } else {
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_ONLINED, e->index, e->node, e->zone,
                          "Onlined into zone %s (wrote %s)",
                          e->zone ? zone_to_string(e->zone) : "chosen by the kernel", word);
                manager_block_set_state(m, e->index, BLOCK_ONLINE, e->zone);
                m->onliner->total_onlined++;
                entry_handled(m, e->index, 0, false, NULL);
        }
}

static int ensure_writer(Manager *m);
static void device_start_waiting(Manager *m);

static void on_offline_written(void *userdata, unsigned index, int result, int interrupted)
{
        Manager *m = userdata;
        Onliner *o = m->onliner;
        QueueEntry e = o->inflight;

        if (o->device_busy) {
                DeviceWrite w = o->device_inflight;

                o->device_busy = false;
                /* Handled in the loop, as a write made here was: the hook may ask for the next one. */
                o->hooks->device_written(o->userdata, &w, result, interrupted);
        } else
                entry_written(m, &e, result, interrupted);
        device_start_waiting(m);
        onliner_notify_status(m);
        if (offline_in_flight(o))
                return; /* its end goes on from here */
        if (queue_size(&o->queue) > 0) {
                onliner_schedule(m);
                return;
        }
        job_finish(m);
        if (m->options.once)
                (void)sd_event_exit(m->event, o->total_failed > 0 ? 1 : 0);
}

static int ensure_writer(Manager *m)
{
        Onliner *o = m->onliner;
        int r;

        if (o->writer)
                return 0;
        r = sysfs_memory_fd(m->sysfs);
        if (r < 0)
                return r;
        return state_writer_new(m->event, r, on_offline_written, m, &o->writer);
}

static int device_start(Manager *m, const DeviceWrite *w)
{
        Onliner *o = m->onliner;
        int fd, r;

        if (o->stopping)
                return -ESHUTDOWN;
        r = ensure_writer(m);
        if (r < 0)
                return r;
        fd = dax_open_device_dir(m->sysfs, w->name);
        if (fd < 0)
                return fd;
        r = state_writer_start_at(o->writer, fd, "state", w->value, w->timeout_usec);
        if (r < 0) {
                close(fd);
                return r;
        }
        o->device_inflight = *w;
        o->device_busy = true;
        onliner_notify_status(m);
        return 0;
}

/* The next waiting device write, once the thread is free; one that cannot start ends at once. */
static void device_start_waiting(Manager *m)
{
        Onliner *o = m->onliner;

        while (o->n_device_waiting > 0 && !offline_in_flight(o)) {
                DeviceWrite w = o->device_waiting[0];
                int r;

                memmove(o->device_waiting, o->device_waiting + 1,
                        --o->n_device_waiting * sizeof(DeviceWrite));
                r = device_start(m, &w);
                if (r < 0)
                        o->hooks->device_written(o->userdata, &w, r, 0);
        }
}

int onliner_write_device(Manager *m, const DeviceWrite *w)
{
        Onliner *o;
        DeviceWrite *l;

        assert(m);
        assert(w);

        o = m->onliner;

        if (!offline_in_flight(o))
                return device_start(m, w);
        /* A block's offline or another device's write is on the thread: this one follows it. */
        l = reallocarray(o->device_waiting, o->n_device_waiting + 1, sizeof(DeviceWrite));
        if (!l)
                return -ENOMEM;
        o->device_waiting = l;
        o->device_waiting[o->n_device_waiting++] = *w;
        return 0;
}

bool onliner_device_writing(const Onliner *o, const char *name)
{
        assert(o);
        assert(name);

        if (o->device_busy && streq(o->device_inflight.name, name))
                return true;
        for (size_t i = 0; i < o->n_device_waiting; i++)
                if (streq(o->device_waiting[i].name, name))
                        return true;
        return false;
}

static int offline_start(Manager *m, QueueEntry *e)
{
        Onliner *o = m->onliner;
        int r;

        r = ensure_writer(m);
        if (r < 0)
                return r;
        r = state_writer_start(o->writer, e->index, "offline", m->config->offline_timeout_usec);
        if (r < 0)
                return r;
        o->inflight = *e;
        onliner_notify_status(m);
        /* OfflineTimeoutSec=0 is no limit, not a timeout of 0. */
        if (m->config->offline_timeout_usec == 0)
                log_block(LOG_DEBUG, 0, NULL, e->index, e->node, 0, "Offlining (on a thread, no timeout)");
        else
                log_block(LOG_DEBUG, 0, NULL, e->index, e->node, 0, "Offlining (on a thread, timeout %.1fs)",
                          (double)m->config->offline_timeout_usec / USEC_PER_SEC);
        return 0;
}

/* One block of a chunk. Never fails the chunk: every outcome is counted and logged; an offline is
 * started here and counted when its write is over. */
static void process_one(Manager *m, QueueEntry *e)
{
        const char *word = online_type_to_sysfs(e->type);
        BlockState st;
        int r;

        block_dequeued(&m->blocks[e->index]);

        if (e->recheck) {
                r = memblock_read_state(m->sysfs, e->index, &st);
                if (r >= 0 && st != BLOCK_OFFLINE) {
                        log_block(LOG_DEBUG, 0, NULL, e->index, e->node, 0, "Onlined by the kernel itself");
                        entry_handled(m, e->index, 0, true, NULL);
                        return;
                }
        }

        if (e->type == ONLINE_TYPE_OFFLINE) {
                r = offline_start(m, e);
                if (r < 0)
                        entry_written(m, e, r, 0);
                return;
        }
        entry_written(m, e, memblock_write_state(m->sysfs, e->index, word), 0);
}

static void schedule_next(Manager *m, size_t n, uint64_t now, uint64_t next)
{
        Onliner *o = m->onliner;

        /* After a full chunk, pause if asked; the event loop runs other sources either way. */
        if (n > 0 && m->config->chunk_pause_usec > 0 && queue_has_ready(&o->queue, now))
                next = now + m->config->chunk_pause_usec;
        else if (queue_has_ready(&o->queue, now))
                next = 0;

        o->pausing = n > 0 && m->config->chunk_pause_usec > 0 && next == now + m->config->chunk_pause_usec;
        if (next > 0)
                (void)timer_arm_at(o->pause_timer, next);
        else
                (void)sd_event_source_set_enabled(o->chunk_source, SD_EVENT_ONESHOT);
}

static int on_chunk(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;
        Onliner *o = m->onliner;
        uint64_t now = now_usec(), next;
        size_t n;

        if (offline_in_flight(o))
                return 0; /* its end schedules the next chunk */
        n = queue_take_chunk(&o->queue, m->config->chunk_blocks, now, o->chunk, &next);
        if (n > 0)
                log_debug("Chunk of %zu blocks, %zu waiting", n, queue_size(&o->queue));
        for (size_t i = 0; i < n; i++) {
                if (offline_in_flight(o)) {
                        /* Back in the queue, still counted in the job and flagged queued. */
                        for (size_t j = i; j < n; j++)
                                if (queue_push(&o->queue, &o->chunk[j]) < 0) {
                                        block_dequeued(&m->blocks[o->chunk[j].index]);
                                        entry_handled(m, o->chunk[j].index, -ENOMEM, false, NULL);
                                }
                        break;
                }
                process_one(m, &o->chunk[i]);
        }

        onliner_notify_status(m);
        if (offline_in_flight(o))
                return 0;
        /* One job per hot-add: the rest of the burst joins this job rather than making its own. */
        if (queue_size(&o->queue) == 0 && n > 0)
                o->hooks->job_ending(o->userdata);
        if (queue_size(&o->queue) == 0) {
                job_finish(m);
                if (m->options.once)
                        (void)sd_event_exit(m->event, o->total_failed > 0 ? 1 : 0);
                return 0;
        }
        schedule_next(m, n, now_usec(), next);
        return 0;
}

static int on_pause(Timer *t, uint64_t usec, void *userdata)
{
        return on_chunk(NULL, userdata);
}

/* Makes sure a chunk runs soon, unless a pause between chunks is running (a timer set only for a
 * retry does not hold back new blocks). */
void onliner_schedule(Manager *m)
{
        Onliner *o;

        assert(m);

        o = m->onliner;

        if (timer_armed(o->pause_timer) && o->pausing)
                return;
        (void)sd_event_source_set_enabled(o->chunk_source, SD_EVENT_ONESHOT);
}

int onliner_new(Manager *m, const OnlinerHooks *hooks, void *userdata, Onliner **ret)
{
        _cleanup_(onliner_freep) Onliner *o = NULL;
        int r;

        assert(m);
        assert(hooks && hooks->outcome && hooks->job_finished && hooks->job_ending && hooks->device_written);
        assert(ret);

        o = calloc(1, sizeof(Onliner));
        if (!o)
                return -ENOMEM;
        o->hooks = hooks;
        o->userdata = userdata;
        r = sd_event_add_defer(m->event, &o->chunk_source, on_chunk, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(o->chunk_source, "onliner-chunk");
        (void)sd_event_source_set_enabled(o->chunk_source, SD_EVENT_OFF);
        /* Accuracy 1 µs: ChunkPauseSec and RetrySec mean what they say, not up to 250 ms more. */
        r = timer_new(m->event, "onliner-pause", SD_EVENT_PRIORITY_NORMAL, on_pause, m, &o->pause_timer);
        if (r < 0)
                return r;
        o->chunk = calloc(m->config->chunk_blocks, sizeof(QueueEntry));
        if (!o->chunk)
                return -ENOMEM;

        *ret = TAKE_PTR(o);
        return 0;
}

Onliner *onliner_free(Onliner *o)
{
        if (!o)
                return NULL;
        state_writer_free(o->writer);
        free(o->device_waiting);
        sd_event_source_disable_unref(o->chunk_source);
        timer_free(o->pause_timer);
        queue_clear(&o->queue);
        free(o->chunk);
        free(o);
        return NULL;
}

int onliner_resize_chunk(Onliner *o, unsigned chunk_blocks)
{
        QueueEntry *chunk;

        assert(o);

        chunk = realloc(o->chunk, chunk_blocks * sizeof(QueueEntry));
        if (!chunk)
                return -ENOMEM;
        o->chunk = chunk;
        return 0;
}

const Job *onliner_job(const Onliner *o)
{
        assert(o);
        return &o->job;
}

size_t onliner_queued(const Onliner *o)
{
        assert(o);
        return queue_size(&o->queue);
}

void onliner_count_onlined(Manager *m, const unsigned *indices, size_t n)
{
        Onliner *o;

        assert(m);
        assert(indices);

        o = m->onliner;

        for (size_t i = 0; i < n; i++) {
                if (!manager_block(m, indices[i]))
                        continue;
                o->job.total++;
                o->total_onlined++;
                entry_handled(m, indices[i], 0, false, NULL);
        }
        if (n == 0)
                return;
        manager_mark_dirty(m, DIRTY_JOB);
        /* With nothing queued, the next chunk finds the queue dry and ends the job. */
        onliner_schedule(m);
}

void onliner_totals(const Onliner *o, unsigned *ret_onlined, unsigned *ret_failed)
{
        assert(o);

        if (ret_onlined)
                *ret_onlined = o->total_onlined;
        if (ret_failed)
                *ret_failed = o->total_failed;
}

int onliner_request_online(Manager *m, unsigned index, OnlineType type)
{
        Block *b;
        const char *attr;
        BlockFacts f;
        Zone zone;
        int r;

        assert(m);
        assert(manager_block_present(m, index));

        b = &m->blocks[index];

        if (b->life == BLOCK_LIFE_QUEUED)
                return REQUEST_QUEUED; /* already on its way; answered when done */
        r = memblock_read(m->sysfs, index, b->node, &f, &attr);
        if (r < 0)
                return r;
        if (f.state == BLOCK_ONLINE)
                return REQUEST_ALREADY;
        zone = f.have_valid_zones ? zone_for_online_type(type, f.valid_zones, f.default_zone) : 0;
        if (f.have_valid_zones && zone == 0)
                return -EDOM;
        block_onlined(b);
        return onliner_enqueue(m, index, f.node, type, zone, ENQUEUE_REQUESTED, 0);
}

int onliner_request_offline(Manager *m, unsigned index)
{
        Block *b;
        BlockState st;
        int r;

        assert(m);
        assert(manager_block_present(m, index));

        b = &m->blocks[index];

        /* Whatever the policy had queued for it is overruled. */
        onliner_settle(m, index, -ECANCELED);
        r = memblock_read_state(m->sysfs, index, &st);
        if (r < 0)
                return r;
        if (st == BLOCK_OFFLINE)
                return REQUEST_ALREADY;
        /* Asked for: the policy must not online it again behind the caller's back. */
        block_hold(b, BLOCK_HOLD_REQUESTED);
        return onliner_enqueue(m, index, b->node, ONLINE_TYPE_OFFLINE, 0, ENQUEUE_REQUESTED, 0);
}

bool onliner_settle(Manager *m, unsigned index, int result)
{
        Onliner *o;
        Block *b;

        assert(m);

        o = m->onliner;
        b = &m->blocks[index];

        if (b->life != BLOCK_LIFE_QUEUED || !queue_remove(&o->queue, index))
                return false;
        block_dequeued(b);
        if (result == -ECANCELED) {
                /* Never started: it leaves the job as if it had not been part of it. */
                o->job.total--;
                o->hooks->outcome(o->userdata,
                                  &(Outcome){ .kind = OUTCOME_WITHDRAWN, .index = index, .result = result });
                return true;
        }
        entry_handled(m, index, result, result == 0, NULL);
        onliner_maybe_finish(m);
        return true;
}

void onliner_drop_policy_entries(Manager *m)
{
        Onliner *o;
        size_t kept = 0;

        assert(m);

        o = m->onliner;

        for (size_t i = 0; i < o->queue.n; i++) {
                QueueEntry *e = &o->queue.entries[i];

                if (e->requested) {
                        o->queue.entries[kept++] = *e;
                        continue;
                }
                block_dequeued(&m->blocks[e->index]);
                block_left_offline(&m->blocks[e->index]);
                o->job.total--;
        }
        o->queue.n = kept;
        manager_mark_dirty(m, DIRTY_JOB);
}

const char *onliner_result_reason(Manager *m, unsigned index, int result, char *buf, size_t size)
{
        Zone zone;

        assert(m);
        assert(buf);

        zone = manager_block_present(m, index) ? m->blocks[index].zone : 0;

        switch (result) {
        case 0:
                snprintf(buf, size, "offlined");
                break;
        case -ENODEV:
                snprintf(buf, size, "removed");
                break;
        case -ECANCELED:
                snprintf(buf, size, "cancelled, the block stays online");
                break;
        case -ESHUTDOWN:
                snprintf(buf, size, "interrupted: the daemon is stopping, the block stays online");
                break;
        case -ETIMEDOUT:
                snprintf(buf, size,
                         "timed out after %.1fs (OfflineTimeoutSec=): the kernel was still migrating "
                         "pages off it (pinned or unmovable pages?), the block stays online",
                         (double)m->config->offline_timeout_usec / USEC_PER_SEC);
                break;
        case -EBUSY:
                if (zone & ZONES_KERNEL)
                        snprintf(buf, size,
                                 "refused by the kernel (EBUSY): in zone %s, which holds kernel allocations "
                                 "that cannot be moved (the kernel log names the page); not removable",
                                 zone_to_string(zone));
                else
                        snprintf(buf, size,
                                 "refused by the kernel (EBUSY): pages it could not migrate (pinned or "
                                 "unmovable; the kernel log names them: \"page dumped because\"), the "
                                 "block stays online");
                break;
        case -EINVAL:
                snprintf(buf, size,
                         "refused by the kernel (EINVAL): the block spans zones or has holes, it cannot "
                         "be offlined");
                break;
        default:
                snprintf(buf, size, "failed: %s", strerror(result < 0 ? -result : result));
                break;
        }
        return buf;
}

bool onliner_cancel_queued_offline(Manager *m, unsigned index)
{
        assert(m);

        /* It stays online: nothing was offlined on purpose. */
        block_release(&m->blocks[index]);
        return onliner_settle(m, index, -ECANCELED);
}

int onliner_cancel_offline(Manager *m, unsigned **ret_blocks, size_t *ret_n, bool *ret_inflight)
{
        _cleanup_(freep) unsigned *blocks = NULL;
        Onliner *o;
        bool inflight;
        size_t n = 0;

        assert(m);
        assert(ret_blocks);
        assert(ret_n);
        assert(ret_inflight);

        o = m->onliner;
        inflight = offline_in_flight(o);

        /* The list first: once the cancel has begun, running out of memory must not stop it half way. */
        blocks = malloc((queue_size(&o->queue) + 1) * sizeof(unsigned));
        if (!blocks)
                return -ENOMEM;
        for (size_t i = 0; i < o->queue.n; i++)
                if (o->queue.entries[i].type == ONLINE_TYPE_OFFLINE)
                        blocks[n++] = o->queue.entries[i].index;
        /* Not started yet: they leave the queue and the job, answered "cancelled". */
        for (size_t i = 0; i < n; i++)
                (void)onliner_cancel_queued_offline(m, blocks[i]);
        /* A device's `unplugged` asked for with the blocks' offline rules is interrupted as their
         * offline is; its end goes to whoever asked (device_written). */
        if (o->device_busy) {
                if (o->device_inflight.cancellable)
                        state_writer_cancel(o->writer);
                inflight = false;
        }
        /* The one in flight is interrupted; its end is counted when the thread reports. */
        if (inflight) {
                state_writer_cancel(o->writer);
                blocks[n++] = o->inflight.index;
        }
        onliner_maybe_finish(m);
        *ret_blocks = TAKE_PTR(blocks);
        *ret_n = n;
        *ret_inflight = inflight;
        return 0;
}

bool onliner_stop(Manager *m, uint64_t timeout_usec)
{
        Onliner *o;
        unsigned index;

        assert(m);

        o = m->onliner;

        /* A start that failed before the onliner was made has nothing in flight. */
        if (!o)
                return true;
        o->stopping = true;
        if (!offline_in_flight(o))
                return true;
        if (o->device_busy) {
                log_info("Interrupting the write of %s to %s/state, waiting up to %.1fs for it to end",
                         o->device_inflight.value, o->device_inflight.name,
                         (double)timeout_usec / USEC_PER_SEC);
                if (state_writer_stop(o->writer, timeout_usec))
                        return true;
                log_warning("The write of %s to %s/state did not end within %.1fs of the signal, exiting "
                            "without its outcome",
                            o->device_inflight.value, o->device_inflight.name,
                            (double)timeout_usec / USEC_PER_SEC);
                return false;
        }
        index = o->inflight.index;
        log_block(LOG_INFO, 0, NULL, index, o->inflight.node, 0,
                  "Interrupting the offline, waiting up to %.1fs for it to end",
                  (double)timeout_usec / USEC_PER_SEC);
        if (state_writer_stop(o->writer, timeout_usec))
                return true;
        log_block(LOG_WARNING, 0, MHP_MESSAGE_BLOCK_OFFLINE_FAILED, index, o->inflight.node, 0,
                  "The offline did not end within %.1fs of the signal, exiting without its outcome (the "
                  "kernel may still offline the block; it will then be found offline, not marked)",
                  (double)timeout_usec / USEC_PER_SEC);
        return false;
}

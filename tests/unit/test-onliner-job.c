/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job's counters are the onliner's: it counts each block into the job when it is queued and out
 * when its part is over (done, done by another agent, removed, failed and why), or takes it out of
 * the job when a request withdraws it, and it counts before it reports the outcome, so that whoever
 * hears the outcome (the bus) reads the job with it counted. When the queue runs dry the finished
 * job goes to the subscriber and the job under way is empty again.
 *
 * Six blocks in a temporary sysfs root are queued for the policy: one is withdrawn, one removed,
 * one onlined by another agent, one cannot be written (its state is a directory), two are onlined
 * by the daemon's own event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "onliner.h"
#include "outcome.h"
#include "sysfs-fixture.h"
#include "tap.h"

#define N_BLOCKS 6

static const char *root;

typedef struct Heard {
        Manager *m;
        unsigned handled, withdrawn;
        bool counted_first; /* every outcome of the job was in the job's counters when it came */
        unsigned last_out;  /* the job's blocks counted out when the last outcome came */
        bool finished;
        Job job;
} Heard;

static unsigned counted_out(const Job *job)
{
        return job->done + job->failed + job->removed + job->cancelled;
}

static void on_block(void *userdata, const Outcome *o)
{
        Heard *h = userdata;
        const Job *job = onliner_job(h->m->onliner);

        if (o->kind == OUTCOME_HANDLED) {
                h->handled++;
                if (counted_out(job) != h->last_out + 1)
                        h->counted_first = false;
                h->last_out = counted_out(job);
        } else if (o->kind == OUTCOME_WITHDRAWN) {
                h->withdrawn++;
                if (job->total != N_BLOCKS - h->withdrawn)
                        h->counted_first = false;
        }
}

static void on_job_finished(void *userdata, const Job *job)
{
        Heard *h = userdata;

        h->finished = true;
        h->job = *job;
}

static const OutcomeSubscriber subscriber = {
        .block = on_block,
        .job_finished = on_job_finished,
};

static void test_job(void)
{
        Heard heard = { .counted_first = true };
        unsigned onlined = 0, failed = 0;
        Manager *m = NULL;
        char path[512], buf[64];
        const Job *job;

        for (unsigned i = 0; i < N_BLOCKS; i++)
                fixture_make_block(i);
        /* The kernel's write fails (EISDIR): counted as a failure, with its errno. */
        snprintf(path, sizeof(path), "%s/devices/system/memory/memory4/state", root);
        if (unlink(path) < 0 || mkdir(path, 0755) < 0)
                abort();

        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        heard.m = m;
        tap_is_int(outcome_subscribe(m, &subscriber, &heard), 0, "subscribed to the outcomes");
        for (unsigned i = 0; i < N_BLOCKS; i++) {
                Block *b = manager_block(m, i);

                block_seen(b);
                b->state = BLOCK_OFFLINE;
                (void)onliner_enqueue(m, i, -1, ONLINE_TYPE_MOVABLE, ZONE_MOVABLE, 0, 0);
        }
        job = onliner_job(m->onliner);
        tap_is_int(job->total, N_BLOCKS, "every queued block counted into the job");
        tap_is_int(onliner_queued(m->onliner), N_BLOCKS, "all of them queued");

        tap_ok(onliner_settle(m, 1, -ECANCELED), "memory1 withdrawn");
        tap_ok(onliner_settle(m, 2, -ENODEV), "memory2 removed");
        tap_ok(onliner_settle(m, 3, 0), "memory3 onlined by another agent");
        tap_ok(!onliner_settle(m, 3, 0), "memory3 is no longer queued");
        tap_is_int(job->total, N_BLOCKS - 1, "the withdrawn block left the job");
        tap_is_int(job->removed, 1, "the removed block counted");
        tap_is_int(job->done, 1, "the block done by another agent counted as done");
        tap_is_int(job->raced, 1, "... and as raced");
        tap_is_int(onliner_queued(m->onliner), 3, "three blocks still queued");

        for (int i = 0; i < 500 && !heard.finished; i++)
                (void)sd_event_run(m->event, 10 * 1000);
        tap_ok(heard.finished, "the job finished");
        tap_ok(heard.counted_first, "every outcome came with the job already counting it");
        tap_is_int(heard.handled, 5, "five blocks handled in the job");
        tap_is_int(heard.withdrawn, 1, "one withdrawn");
        tap_ok(heard.job.total == 5 && heard.job.done == 3 && heard.job.raced == 1 &&
                       heard.job.removed == 1 && heard.job.failed == 1 && heard.job.cancelled == 0,
               "the finished job: 5 blocks, 3 done (1 raced), 1 removed, 1 failed (%u, %u (%u), %u, %u, %u)",
               heard.job.total, heard.job.done, heard.job.raced, heard.job.removed, heard.job.failed,
               heard.job.cancelled);
        tap_ok(heard.job.errors[0].error == EISDIR && heard.job.errors[0].n == 1 &&
                       heard.job.errors[1].n == 0 && heard.job.errors_other == 0,
               "the failure's errno kept for the summary");
        job = onliner_job(m->onliner);
        tap_ok(job->total == 0 && counted_out(job) == 0 && job->raced == 0 && job->errors[0].n == 0,
               "the job under way is empty again");
        onliner_totals(m->onliner, &onlined, &failed);
        tap_is_int(onlined, 2, "two blocks onlined since the start (not the one another agent did)");
        tap_is_int(failed, 1, "one failed since the start");
        tap_ok(streq(fixture_block_state(0, buf, sizeof(buf)), "online_movable"), "memory0 written");
        tap_ok(streq(fixture_block_state(5, buf, sizeof(buf)), "online_movable"), "memory5 written");
        tap_ok(streq(fixture_block_state(1, buf, sizeof(buf)), "offline"), "memory1 not written");
        manager_free(m);
}

int main(void)
{
        root = fixture_setup(false, "[Daemon]\nMaxAttempts=1\n[Memory]\nOnline=movable\n");
        log_open(LOG_TARGET_STDERR);

        test_job();

        fixture_cleanup();
        printf("1..%u\n", tap_n);
        return tap_failed > 0;
}

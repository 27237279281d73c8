/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hot-added block whose handling runs out of memory is not lost: the daemon looks at it again a
 * moment later (intake_retry_later()), and onlines it then.
 *
 * The test links with -Wl,--wrap=realloc, so every realloc() of the daemon's code comes here first
 * and can be failed: the block table's growth (a block past the end of the table, as a hot-added
 * DIMM above boot memory is) and the queue's. The block lives in a temporary sysfs root without
 * NUMA; the daemon's own intake_on_uevent() gets its "add" and its event loop runs the retry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "intake.h"
#include "event-util.h"
#include "log.h"
#include "manager.h"
#include "onliner.h"
#include "queue.h"
#include "sysfs-fixture.h"
#include "tap.h"

void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);

/* Fail the next realloc() to this size (0: none), once. */
static size_t fail_size;
static unsigned failed;

void *__wrap_realloc(void *p, size_t size)
{
        if (fail_size != 0 && size == fail_size) {
                fail_size = 0;
                failed++;
                errno = ENOMEM;
                return NULL;
        }
        return __real_realloc(p, size);
}

/* Runs the loop until the block's state file says what the daemon wrote, or 5 s pass. */
static bool wait_written(Manager *m, unsigned index, const char *want)
{
        char buf[64];

        for (int i = 0; i < 500; i++) {
                if (streq(fixture_block_state(index, buf, sizeof(buf)), want))
                        return true;
                (void)sd_event_run(m->event, 10 * 1000);
        }
        return false;
}

static bool retry_armed(Manager *m)
{
        return intake_retry_armed(m->intake);
}

/* The block table cannot grow for a block past its end: the uevent is not lost. */
static void test_table(void)
{
        Manager *m = NULL;
        char buf[64];
        bool ok;

        fixture_make_block(40);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        fail_size = 41 * sizeof(Block);
        intake_on_uevent(m->intake, "add", "memory40");
        tap_is_int(failed, 1, "the block table's realloc failed");
        tap_ok(m->n_blocks <= 40 && onliner_queued(m->onliner) == 0,
               "memory40 not in the table, not queued");
        tap_ok(retry_armed(m), "the retry scan is armed");
        ok = wait_written(m, 40, "online_movable");
        tap_ok(ok, "memory40 onlined by the retry (state: %s)", fixture_block_state(40, buf, sizeof(buf)));
        tap_ok(!retry_armed(m), "no retry left");
        manager_free(m);
        fixture_write("devices/system/memory/memory40/state", "online\n"); /* as the kernel would */
}

/* The queue cannot grow: the block is marked and queued by the retry. */
static void test_queue(void)
{
        Manager *m = NULL;
        char buf[64];
        bool ok;

        fixture_make_block(50);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        failed = 0;
        fail_size = 64 * sizeof(QueueEntry);
        intake_on_uevent(m->intake, "add", "memory50");
        tap_is_int(failed, 1, "the queue's realloc failed");
        tap_ok(m->n_blocks > 50 && m->blocks[50].retry && m->blocks[50].life != BLOCK_LIFE_QUEUED,
               "memory50 known, marked for the retry, not queued");
        tap_ok(retry_armed(m), "the retry scan is armed");
        ok = wait_written(m, 50, "online_movable");
        tap_ok(ok, "memory50 onlined by the retry (state: %s)", fixture_block_state(50, buf, sizeof(buf)));
        tap_ok(!m->blocks[50].retry, "memory50 no longer marked");
        manager_free(m);
}

int main(void)
{
        fixture_setup(false, "[Daemon]\nKernelAutoOnline=respect\n[Memory]\nOnline=movable\n");
        log_open(LOG_TARGET_STDERR);

        test_table();
        test_queue();

        fixture_cleanup();
        printf("1..%u\n", tap_n);
        return tap_failed > 0;
}

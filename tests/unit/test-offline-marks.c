/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The blocks offlined on purpose are kept in the runtime directory (offline-marks.h): written when
 * the set changes and only then, a failed save said once (the manager asks
 * offline_marks_failing() before it logs), and read back by a new daemon. The runtime directory is
 * the fixture's, under a temporary root. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "offline-marks.h"
#include "sysfs-fixture.h"
#include "tap.h"

static const char *root;

static void path_of(const char *rel, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", root, rel);
}

/* The marks file, whole; "-" when there is none. */
static const char *marks_file(char *buf, size_t size)
{
        return fixture_read("run/" OFFLINE_MARKS_FILE, buf, size) ?: "-";
}

static void mark(Manager *m, unsigned index, BlockState state)
{
        Block *b = manager_block(m, index);

        b->life = BLOCK_LIFE_PRESENT;
        block_hold(b, BLOCK_HOLD_REQUESTED);
        b->state = state;
}

static int on_post(sd_event_source *s, void *userdata)
{
        return 0;
}

int main(void)
{
        char buf[256], path[512];
        Manager *m = NULL;

        root = fixture_setup(false, "[Memory]\nOnline=movable\n");
        log_open(LOG_TARGET_STDERR);

        tap_ok(fixture_new_manager(&m) >= 0, "manager over the fixture");
        tap_ok(offline_marks_new(m->event, on_post, m, &m->marks) >= 0, "offline marks set up");
        mark(m, 3, BLOCK_OFFLINE);
        mark(m, 5, BLOCK_OFFLINE);
        mark(m, 7, BLOCK_ONLINE); /* its offline is not over: not marked yet */

        /* A file where the runtime directory should be: the save fails, and says so once. */
        fixture_write("run", "in the way\n");
        tap_ok(!offline_marks_failing(m), "not failing before a save");
        tap_ok(offline_marks_save(m) < 0, "a save into a file fails");
        tap_ok(offline_marks_failing(m), "failing after it");
        tap_ok(offline_marks_save(m) < 0 && offline_marks_failing(m),
               "failing again: the same set, not saved");

        path_of("run", path, sizeof(path));
        tap_ok(unlink(path) == 0, "the file out of the way");
        tap_is_int(offline_marks_save(m), 0, "saved");
        tap_ok(!offline_marks_failing(m), "no longer failing");
        tap_is_str(marks_file(buf, sizeof(buf)), "memory3\nmemory5\n", "the blocks offline on purpose");

        /* The same set: nothing written (the file, removed behind its back, is not made again). */
        path_of("run/" OFFLINE_MARKS_FILE, path, sizeof(path));
        tap_ok(unlink(path) == 0, "marks file removed");
        tap_is_int(offline_marks_save(m), 0, "saved again");
        tap_is_str(marks_file(buf, sizeof(buf)), "-", "an unchanged set is not written");

        m->blocks[7].state = BLOCK_OFFLINE;
        m->blocks[5].state = BLOCK_ONLINE;
        tap_is_int(offline_marks_save(m), 0, "saved after a change");
        tap_is_str(marks_file(buf, sizeof(buf)), "memory3\nmemory7\n", "the new set");
        manager_free(m);

        /* A new daemon reads them back. */
        m = NULL;
        tap_ok(fixture_new_manager(&m) >= 0, "a new manager");
        tap_is_int(offline_marks_load(m), 0, "marks read");
        tap_ok(m->n_blocks > 7 && m->blocks[3].hold == BLOCK_HOLD_MARK &&
                       m->blocks[7].hold == BLOCK_HOLD_MARK && !block_held(&m->blocks[5]),
               "memory3 and memory7 marked, memory5 not");
        manager_free(m);

        fixture_cleanup();
        printf("1..%u\n", tap_n);
        return tap_failed > 0;
}

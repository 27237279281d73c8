/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "offline-marks.h"
#include "parse-util.h"
#include "read-file.h"

int offline_marks_new(sd_event *e, sd_event_handler_t save, void *userdata, OfflineMarks **ret)
{
        _cleanup_(freep) OfflineMarks *k = NULL;
        int r;

        assert(e);
        assert(ret);

        k = calloc(1, sizeof(OfflineMarks));
        if (!k)
                return -ENOMEM;
        r = sd_event_add_post(e, &k->source, save, userdata);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(k->source, "offline-marks");
        *ret = TAKE_PTR(k);
        return 0;
}

OfflineMarks *offline_marks_free(OfflineMarks *k)
{
        if (!k)
                return NULL;
        sd_event_source_disable_unref(k->source);
        free(k);
        return NULL;
}

bool offline_marks_failing(const Manager *m)
{
        assert(m);

        return m->marks->failing;
}

static int marks_path(const Manager *m, char **ret)
{
        return asprintf(ret, "%s/" OFFLINE_MARKS_FILE, m->options.runtime_dir) < 0 ? -ENOMEM : 0;
}

int offline_marks_load(Manager *m)
{
        _cleanup_(freep) char *path = NULL, *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size = 0;
        ssize_t n;
        int r;

        assert(m);

        r = marks_path(m, &path);
        if (r < 0)
                return r;
        /* A kill during an atomic write leaves its temporary file, which nothing else removes. */
        (void)remove_stale_temporaries(path);

        r = fopen_capped_at(AT_FDCWD, path, READ_MAX_OFFLINE_MARK, &f);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        while ((n = getline(&line, &size, f)) > 0) {
                unsigned index;
                Block *b;

                line[strcspn(line, "\n")] = '\0';
                if (parse_block_name(line, &index) < 0)
                        return -EBADMSG;
                b = manager_block(m, index);
                if (!b)
                        return -ENOMEM;
                block_hold(b, BLOCK_HOLD_MARK);
        }
        return 0;
}

/* Offline on purpose, and offline now (a block whose offline is still under way is not yet). */
static bool marked(const Block *b)
{
        return block_known(b) && block_held(b) && b->state == BLOCK_OFFLINE;
}

/* splitmix64's finaliser: a sum of these tells sets of indices apart (a plain sum would take
 * {1, 4} for {2, 3}). */
static uint64_t mix(uint64_t x)
{
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

static int save(Manager *m)
{
        OfflineMarks *k = m->marks;
        _cleanup_(freep) char *path = NULL;
        unsigned n = 0;
        uint64_t sum = 0;
        int r;

        /* Cheap enough to look every loop iteration: one pass over the table, a write only when the
         * set changed (its size and a sum of hashes of its indices differ). */
        for (size_t i = 0; i < m->n_blocks; i++)
                if (marked(&m->blocks[i])) {
                        n++;
                        sum += mix(i);
                }
        if (n == k->saved && sum == k->sum)
                return 0;

        r = marks_path(m, &path);
        if (r < 0)
                return r;
        if (n == 0) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
        } else {
                _cleanup_(freep) char *text = NULL;
                _cleanup_(fclosep) FILE *f = NULL;
                size_t size;

                f = open_memstream(&text, &size);
                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < m->n_blocks; i++)
                        if (marked(&m->blocks[i]))
                                fprintf(f, "memory%zu\n", i);
                /* The stream's buffer is final only once it is closed. */
                r = fclose(TAKE_PTR(f));
                if (r != 0 || !text)
                        return -ENOMEM;
                r = write_file_atomic(path, text);
                if (r < 0)
                        return r;
        }
        k->saved = n;
        k->sum = sum;
        return 0;
}

int offline_marks_save(Manager *m)
{
        int r;

        assert(m);

        r = save(m);
        m->marks->failing = r < 0;
        return r;
}

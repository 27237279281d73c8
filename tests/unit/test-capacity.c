/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capacity.h"
#include "tap.h"

/* The capacity file: what one event writes reads back as the same memory and sequence (so a restart
 * compares with what the last run announced), what is not such a file is refused, and the
 * comparison counts every node, a missing one as none. */

static Capacity make(uint64_t seq, const uint64_t *nodes, size_t n)
{
        Capacity c = { .sequence = seq };

        c.node_online = calloc(n ? n : 1, sizeof(uint64_t));
        c.n_nodes = n;
        for (size_t i = 0; i < n; i++) {
                c.node_online[i] = nodes[i];
                c.online += nodes[i];
        }
        return c;
}

static void test_round_trip(void)
{
        const uint64_t nodes[] = { 4ULL << 30, 0, 2ULL << 30, 0 };
        Capacity c = make(7, nodes, 4), back = {};
        char *text = NULL;

        tap_is_int(capacity_format(&c, &text), 0, "format");
        tap_ok(text && strstr(text, "\nCAPACITY_SEQUENCE=7\nONLINE_BYTES=6442450944\n"
                                    "NODE_ONLINE_BYTES=\"0:4294967296 2:2147483648\"\n"),
               "the file holds the sequence, the total and the nodes with memory");
        tap_is_int(capacity_parse(text, &back), 0, "parse what format wrote");
        tap_ok(back.sequence == 7 && back.online == c.online && capacity_equal(&back, &c),
               "read back: sequence %llu, online %llu, the same memory per node",
               (unsigned long long)back.sequence, (unsigned long long)back.online);
        capacity_done(&back);
        free(text);
        capacity_done(&c);
}

static void test_equal(void)
{
        const uint64_t a[] = { 1 << 20, 0 }, b[] = { 1 << 20 }, moved[] = { 0, 1 << 20 };
        Capacity x = make(1, a, 2), y = make(9, b, 1), z = make(1, moved, 2);

        tap_ok(capacity_equal(&x, &y),
               "a node with no memory equals a node not listed; sequences do not count");
        tap_ok(!capacity_equal(&x, &z), "the same total on another node is a change");
        capacity_done(&x);
        capacity_done(&y);
        capacity_done(&z);
}

static void test_bad(void)
{
        static const char *const bad[] = {
                "ONLINE_BYTES=1\n",                                                    /* no sequence */
                "CAPACITY_SEQUENCE=1\n",                                               /* no total */
                "CAPACITY_SEQUENCE=x\nONLINE_BYTES=1\n",                               /* not a number */
                "CAPACITY_SEQUENCE=-1\nONLINE_BYTES=1\n",                              /* a sign */
                "CAPACITY_SEQUENCE=1\nONLINE_BYTES=1\nNODE_ONLINE_BYTES=0:1\n",        /* not quoted */
                "CAPACITY_SEQUENCE=1\nONLINE_BYTES=1\nNODE_ONLINE_BYTES=\"0\"\n",      /* no bytes */
                "CAPACITY_SEQUENCE=1\nONLINE_BYTES=1\nNODE_ONLINE_BYTES=\"1024:1\"\n", /* no such node */
                "CAPACITY_SEQUENCE=1\nONLINE_BYTES=1\nNODE_ONLINE_BYTES=\"4294967296:1\"\n",
                "CAPACITY_SEQUENCE=1\ngarbage\nONLINE_BYTES=1\n",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                Capacity c = {};

                tap_is_int(capacity_parse(bad[i], &c), -EBADMSG, "refused: bad file %zu", i);
                tap_ok(c.node_online == NULL && c.sequence == 0, "nothing returned for a refused file");
        }
}

static void test_save_load(void)
{
        const uint64_t nodes[] = { 3ULL << 28 };
        char dir[] = "/tmp/test-capacity.XXXXXX", path[64], tmp[64];
        Capacity c = make(3, nodes, 1), back = {};

        if (!mkdtemp(dir)) {
                tap_ok(false, "mkdtemp: %m");
                return;
        }
        snprintf(path, sizeof(path), "%s/capacity", dir);
        tap_is_int(capacity_load(dir, &back), -ENOENT, "no file: -ENOENT");
        tap_is_int(capacity_save(dir, &c), 0, "save");
        tap_is_int(capacity_load(dir, &back), 0, "load");
        tap_ok(back.sequence == 3 && capacity_equal(&back, &c), "loaded what was saved");
        capacity_done(&back);

        /* What a kill during a save leaves: removed at the next start, the file itself kept. */
        snprintf(tmp, sizeof(tmp), "%s/capacity.Ab12Cd", dir);
        fclose(fopen(tmp, "we"));
        tap_is_int(capacity_remove_temporaries(dir), 1, "one temporary file removed");
        tap_ok(access(tmp, F_OK) < 0 && access(path, F_OK) == 0,
               "the temporary file is gone, the file kept");
        unlink(path);
        rmdir(dir);
        capacity_done(&c);
}

int main(void)
{
        test_round_trip();
        test_equal();
        test_bad();
        test_save_load();
        return tap_done();
}

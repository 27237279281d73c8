/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Turns one fuzzer input into files in a private directory: the parts between lines "%%" are
 * the first file and then the others (at most FUZZ_FILES_MAX). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

#define FUZZ_FILES_MAX 8

static char fuzz_dir[] = "/tmp/memhotplugd-fuzz.XXXXXX";

static void fuzz_cleanup(void)
{
        char cmd[64];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", fuzz_dir);
}

static const char *fuzz_setup(void)
{
        static bool done;

        if (!done) {
                if (!mkdtemp(fuzz_dir))
                        abort();
                atexit(fuzz_cleanup);
                done = true;
        }
        return fuzz_dir;
}

static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
        FILE *f = fopen(path, "we");

        if (!f || (size > 0 && fwrite(data, 1, size, f) != size))
                abort();
        fclose(f);
}

/* Writes part 0 to first and parts 1… to dir/NN.conf; removes the NN.conf of earlier runs. */
static void fuzz_split(const uint8_t *data, size_t size, const char *first, const char *dir)
{
        static const char sep[] = "\n%%\n";
        size_t n = 0;

        for (unsigned i = 0; i < FUZZ_FILES_MAX; i++) {
                char path[256];

                snprintf(path, sizeof(path), "%s/%02u.conf", dir, i);
                unlink(path);
        }
        while (n <= FUZZ_FILES_MAX) {
                const uint8_t *end = memmem(data, size, sep, sizeof(sep) - 1);
                size_t len = end ? (size_t)(end - data) + 1 : size; /* keep the '\n' */
                char path[256];

                if (n == 0)
                        snprintf(path, sizeof(path), "%s", first);
                else
                        snprintf(path, sizeof(path), "%s/%02zu.conf", dir, n - 1);
                fuzz_write(path, data, len);
                n++;
                if (!end)
                        break;
                size -= (size_t)(end - data) + sizeof(sep) - 1;
                data = end + sizeof(sep) - 1;
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "tap.h"

/* How config files are read: whole lines or an error, line numbers that stay right, only regular
 * files, and bounds on size. */

static char dir[] = "/tmp/memhotplugd-test-config-files.XXXXXX";

#include "conf-files.h"

/* content may hold NUL bytes, hence the length. */
static char *write_bytes(const char *name, const char *content, size_t len)
{
        char *path;
        FILE *f;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        f = fopen(path, "we");
        if (!f || fwrite(content, 1, len, f) != len)
                abort();
        fclose(f);
        return path;
}

/* Loads the main file path; the error, which must start with "path:suffix" when want is given. */
static void expect_load(const char *path, const char *want_suffix, const char *what)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *want = NULL;
        int r;

        r = config_load(path, true, &c, &error);
        if (!want_suffix) {
                tap_ok(r == 0 && c, "%s: accepted (%s)", what, strna(error));
                return;
        }
        if (asprintf(&want, "%s%s", path, want_suffix) < 0)
                abort();
        tap_ok(r < 0 && !c, "%s: refused", what);
        tap_is_str(error, want, "%s: message", what);
}

static void test_long_lines(void)
{
        _cleanup_(freep) char *x197 = repeat('x', 197), *x198 = repeat('x', 198), *globs = NULL,
                              *text = NULL, *path = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;

        /* The issue's own example: the tail of a long comment must not become a setting. */
        if (asprintf(&text, "[Daemon]\n# %sKernelAutoOnline=respect\n", x197) < 0)
                abort();
        path = write_file("main.conf", text);
        expect_load(path, ":2: Line too long (max 199 characters)", "a 223-character comment");

        /* A long match list must not apply a Mode= hidden at its end. */
        free(text);
        if (asprintf(&text, "[Dax big]\nMatchDevice=%s Mode=devdax\n", x197) < 0)
                abort();
        free(path);
        path = write_file("main.conf", text);
        expect_load(path, ":2: Line too long (max 199 characters)", "a long MatchDevice= line");

        /* 199 characters is the most; the next line keeps its number. */
        free(text);
        if (asprintf(&text, "[Daemon]\n#%s\nBogus=1\n", x198) < 0)
                abort();
        free(path);
        path = write_file("main.conf", text);
        expect_load(path, ":3: Unknown key Bogus= in section [Daemon]",
                    "a line after a 199-character one keeps its number");

        /* A 199-character assignment is taken whole, CRLF line ends are fine. */
        globs = repeat('d', 199 - strlen("MatchDevice="));
        free(text);
        if (asprintf(&text, "[Dax big]\r\nMatchDevice=%s\r\nMode=devdax\r\n", globs) < 0)
                abort();
        free(path);
        path = write_file("main.conf", text);
        tap_ok(config_load(path, true, &c, &error) == 0 && c && c->n_dax_rules == 1 &&
                       streq(c->dax_rules[0].match_device, globs),
               "a 199-character assignment is read whole (%s)", strna(error));
}

static void test_nul_bytes(void)
{
        static const char chunk[] = "[Daemon]\nChunkBlocks=5\0junk\n";
        static const char comment[] = "[Daemon]\n# a\0b\nChunkBlocks=5\n";
        _cleanup_(freep) char *a = write_bytes("main.conf", chunk, sizeof(chunk) - 1);

        expect_load(a, ":2: Line contains a NUL byte", "ChunkBlocks=5<NUL>junk");
        free(a);
        a = write_bytes("main.conf", comment, sizeof(comment) - 1);
        expect_load(a, ":2: Line contains a NUL byte", "a NUL byte in a comment");
}

static void test_too_large(void)
{
        _cleanup_(freep) char *line = repeat('#', 99), *path = NULL;
        FILE *f;

        if (asprintf(&path, "%s/main.conf", dir) < 0)
                abort();
        f = fopen(path, "we");
        if (!f)
                abort();
        for (unsigned i = 0; i < (1048576 / 100) + 1; i++)
                fprintf(f, "%s\n", line);
        fclose(f);
        expect_load(path, ": File too large (max 1048576 bytes)", "a file over 1 MiB");
}

static char *dropin_dir(void)
{
        char *d;

        if (asprintf(&d, "%s/main.conf.d", dir) < 0)
                abort();
        mkdir(d, 0755);
        return d;
}

static void test_not_regular(void)
{
        _cleanup_(freep) char *main_conf = write_file("main.conf", "[Daemon]\nChunkBlocks=4\n");
        _cleanup_(freep) char *d = dropin_dir(), *x = NULL, *want = NULL;
        static const char *const devices[] = { "/dev/zero", "/dev/urandom" };

        if (asprintf(&x, "%s/x.conf", d) < 0)
                abort();

        /* Without the check these hang; the alarm turns a hang into a failed test. */
        alarm(20);
        if (mkfifo(x, 0600) < 0)
                abort();
        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *error = NULL;

                tap_ok(config_load(main_conf, true, &c, &error) == -EBADFD && !c,
                       "a FIFO drop-in is refused");
                free(want);
                if (asprintf(&want, "%s: Cannot read: not a regular file", x) < 0)
                        abort();
                tap_is_str(error, want, "naming the file");
        }
        unlink(x);

        for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *error = NULL;

                if (symlink(devices[i], x) < 0)
                        abort();
                tap_ok(config_load(main_conf, true, &c, &error) == -EBADFD && !c,
                       "a drop-in linked to %s is refused", devices[i]);
                tap_is_str(error, want, "naming the file");
                unlink(x);
        }

        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *error = NULL;

                mkdir(x, 0755);
                free(want);
                if (asprintf(&want, "%s: Cannot read: Is a directory", x) < 0)
                        abort();
                tap_ok(config_load(main_conf, true, &c, &error) == -EISDIR && !c,
                       "a directory named x.conf is refused");
                tap_is_str(error, want, "as a directory");
                rmdir(x);
        }

        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *error = NULL;

                if (symlink("/dev/null", x) < 0)
                        abort();
                tap_ok(config_load(main_conf, true, &c, &error) == 0 && c && c->n_files == 1,
                       "a drop-in linked to /dev/null masks, and is not listed as read (%s)", strna(error));
                unlink(x);
        }

        {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *error = NULL, *fifo = NULL;

                if (asprintf(&fifo, "%s/fifo.conf", dir) < 0 || mkfifo(fifo, 0600) < 0)
                        abort();
                tap_ok(config_load(fifo, true, &c, &error) == -EBADFD && !c,
                       "a FIFO as --config is refused");
                unlink(fifo);
        }
        rmdir(d);
        alarm(0);
}

static void test_daxctl_not_regular(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *ddir = NULL, *x = NULL, *text = NULL, *main_conf = NULL;

        if (asprintf(&ddir, "%s/daxctl.conf.d", dir) < 0 || asprintf(&x, "%s/x.conf", ddir) < 0 ||
            asprintf(&text, "[Dax]\nImportDaxctlConfig=yes\nDaxctlConfigDirectory=%s\n", ddir) < 0)
                abort();
        mkdir(ddir, 0755);
        main_conf = write_file("main.conf", text);
        alarm(20);
        if (symlink("/dev/zero", x) < 0)
                abort();
        tap_ok(config_load(main_conf, true, &c, &error) == -EBADFD && !c,
               "a daxctl file linked to /dev/zero is refused");
        tap_ok(error && strstr(error, "x.conf: Cannot read: not a regular file"), "with: %s", strna(error));
        alarm(0);
        unlink(x);
        rmdir(ddir);
}

int main(void)
{
        _cleanup_(freep) char *cmd = NULL;

        /* A hang ends in SIGALRM: what was printed until then must not be lost in a buffer. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!mkdtemp(dir))
                return 1;
        test_long_lines();
        test_nul_bytes();
        test_too_large();
        test_not_regular();
        test_daxctl_not_regular();

        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                return 1;
        return tap_done();
}

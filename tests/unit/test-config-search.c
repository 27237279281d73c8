/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "tap.h"

/* Where the configuration comes from: the main file, the drop-ins of /etc, /run and /usr/lib as
 * systemd orders and masks them, and which file an error is blamed on. */

static char dir[] = "/tmp/memhotplugd-test-config-search.XXXXXX";

#include "conf-files.h"

static void mkdirs(void)
{
        static const char *const subs[] = { "etc", "run", "lib", "main.conf.d", "daxctl" };

        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_(freep) char *d = NULL;

                if (asprintf(&d, "%s/%s", dir, subs[i]) < 0)
                        abort();
                mkdir(d, 0755);
        }
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && streq(s + n - m, suffix);
}

static void test_search_dirs(void)
{
        _cleanup_(freep) char *etc = NULL, *run = NULL, *lib = NULL, *main_conf = NULL, *masked = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *error_file = NULL;
        int r;

        if (asprintf(&etc, "%s/etc", dir) < 0 || asprintf(&run, "%s/run", dir) < 0 ||
            asprintf(&lib, "%s/lib", dir) < 0 || asprintf(&masked, "%s/etc/20-b.conf", dir) < 0)
                abort();
        main_conf = write_file("memhotplugd.conf", "[Daemon]\nChunkBlocks=3\nMaxAttempts=2\n");
        free(write_file("lib/10-a.conf", "[Daemon]\nChunkBlocks=1\n"));
        free(write_file("run/10-a.conf", "[Daemon]\nChunkBlocks=2\n"));
        free(write_file("lib/20-b.conf", "[Bogus]\nKey=1\n"));
        if (symlink("/dev/null", masked) < 0)
                abort();
        free(write_file("lib/30-c.conf", "[Daemon]\nMaxAttempts=5\n"));
        free(write_file("run/05-z.conf", "[Daemon]\nMaxAttempts=9\nScanAtStart=no\n"));
        free(write_file("etc/40-d.conf", "[Daemon]\nRetrySec=3\n"));
        free(write_file("etc/not-a-drop-in.conf.disabled", "[Bogus]\n"));

        r = config_load_full(main_conf, false, (const char *const[]){ etc, run, lib, NULL }, &c, &error,
                             &error_file);
        tap_ok(r == 0 && c, "main file and drop-ins from three directories (%s)", strna(error));
        if (!c)
                return;
        tap_is_int(c->chunk_blocks, 2, "/run's 10-a.conf masks /usr/lib's");
        tap_is_int(c->max_attempts, 5, "names sort across directories: lib/30-c.conf after run/05-z.conf");
        tap_ok(!c->scan_at_start, "run/05-z.conf applied");
        tap_is_int(c->retry_usec, 3000000, "etc/40-d.conf applied");
        tap_is_int(c->n_files, 5, "five files read: the main file and four drop-ins, not the masked one");
        if (c->n_files == 5) {
                tap_ok(streq(c->files[0], main_conf), "the main file first");
                tap_ok(ends_with(c->files[1], "/run/05-z.conf"), "then run/05-z.conf");
                tap_ok(ends_with(c->files[2], "/run/10-a.conf"), "then run/10-a.conf");
                tap_ok(ends_with(c->files[3], "/lib/30-c.conf"), "then lib/30-c.conf");
                tap_ok(ends_with(c->files[4], "/etc/40-d.conf"), "then etc/40-d.conf");
        }

        /* An /etc file of the same name beats /run's. */
        config_free(TAKE_PTR(c));
        free(write_file("etc/10-a.conf", "[Daemon]\nChunkBlocks=7\n"));
        r = config_load_full(main_conf, false, (const char *const[]){ etc, run, lib, NULL }, &c, &error,
                             &error_file);
        tap_ok(r == 0 && c && c->chunk_blocks == 7, "/etc's 10-a.conf masks /run's");
}

/* With an explicit file and no directories given, its own .d directory and nothing else. */
static void test_explicit_file(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *main_conf = NULL;

        main_conf = write_file("main.conf", "[Daemon]\nChunkBlocks=3\n");
        free(write_file("main.conf.d/50-x.conf", "[Daemon]\nChunkBlocks=11\n"));
        tap_ok(config_load(main_conf, true, &c, &error) == 0 && c && c->chunk_blocks == 11 &&
                       c->n_files == 2,
               "--config FILE reads FILE.d/ (%s)", strna(error));
}

static void expect_error_file(const char *main_content, const char *want_file, const char *what)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *error_file = NULL, *main_conf = NULL, *want = NULL;
        int r;

        main_conf = write_file("main.conf", main_content);
        if (asprintf(&want, "%s/%s", dir, want_file) < 0)
                abort();
        r = config_load_full(main_conf, true, NULL, &c, &error, &error_file);
        tap_ok(r < 0 && !c, "%s: refused", what);
        tap_is_str(error_file, want, "%s: the error names the file at fault", what);
        tap_ok(error && strncmp(error, want, strlen(want)) == 0, "%s: and so does the message: %s", what,
               strna(error));
}

static void test_error_file(void)
{
        _cleanup_(freep) char *bad = NULL, *daxctl_conf = NULL, *dax_main = NULL;

        expect_error_file("[Daemon]\nChunkBlocks=x\n", "main.conf", "an error in the main file");

        bad = write_file("main.conf.d/60-bad.conf", "[Memory]\nOnline=sideways\n");
        expect_error_file("[Daemon]\nChunkBlocks=4\n", "main.conf.d/60-bad.conf", "an error in a drop-in");
        unlink(bad);

        daxctl_conf = write_file("daxctl/dev.conf", "[reconfigure-device x]\nmode = system-ram\n");
        if (asprintf(&dax_main, "[Dax]\nImportDaxctlConfig=yes\nDaxctlConfigDirectory=%s/daxctl\n", dir) < 0)
                abort();
        expect_error_file(dax_main, "daxctl/dev.conf", "an error in an imported daxctl file");
        unlink(daxctl_conf);
}

int main(void)
{
        _cleanup_(freep) char *cmd = NULL;

        if (!mkdtemp(dir))
                return 1;
        mkdirs();
        test_search_dirs();
        test_explicit_file();
        test_error_file();

        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                return 1;
        return tap_done();
}

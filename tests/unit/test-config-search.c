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

        r = config_load_full(main_conf, false, (const char *const[]){ etc, run, lib, NULL }, NULL, &c,
                             &error, &error_file);
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
        r = config_load_full(main_conf, false, (const char *const[]){ etc, run, lib, NULL }, NULL, &c,
                             &error, &error_file);
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
        r = config_load_full(main_conf, true, NULL, NULL, &c, &error, &error_file);
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

/* The config as --check-config prints it. */
static char *dump(const Config *c)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f || config_dump(c, f) < 0)
                abort();
        fclose(f);
        return text;
}

/* The memhotplugd.conf credential: read after every drop-in, whatever its name, and named in the
 * origins as a credential. A credentials directory without it is no error. */
static void test_credential(void)
{
        _cleanup_(freep) char *etc = NULL, *creds = NULL, *empty = NULL, *main_conf = NULL, *late = NULL,
                              *cred = NULL, *text = NULL, *error = NULL, *error_file = NULL, *want = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        if (asprintf(&etc, "%s/cred-etc", dir) < 0 || asprintf(&creds, "%s/creds", dir) < 0 ||
            asprintf(&empty, "%s/creds-empty", dir) < 0)
                abort();
        mkdir(etc, 0755);
        mkdir(creds, 0755);
        mkdir(empty, 0755);
        main_conf = write_file(
                "cred-main.conf",
                "[Memory]\nOnline=movable\n\n[Daemon]\nChunkBlocks=5\n\n[Node 2]\nMovableRatio=7\n");
        late = write_file("cred-etc/zz-last.conf", "[Memory]\nOnline=offline\nMovableRatio=50\n");
        cred = write_file("creds/memhotplugd.conf", "# from the hypervisor\n[Memory]\nOnline=kernel\n");

        r = config_load_full(main_conf, false, (const char *const[]){ etc, NULL }, creds, &c, &error,
                             &error_file);
        tap_ok(r == 0 && c, "main file, a drop-in and the credential (%s)", strna(error));
        if (!c)
                return;
        tap_is_int(c->online, ONLINE_TYPE_KERNEL, "the credential wins over the drop-in that sorts last");
        tap_is_int(c->movable_ratio, 50, "what the credential does not set, the files still do");
        tap_is_int(c->n_files, 3, "three files read");
        if (c->n_files == 3) {
                tap_is_str(c->files[2], cred, "the credential last");
                tap_is_int(c->credential_file, 3, "and known as the credential");
        }
        text = dump(c);
        tap_ok(strstr(text, "\n# credential memhotplugd.conf:3\nOnline=kernel\n"),
               "--check-config: Online= came from credential memhotplugd.conf:3");
        if (asprintf(&want, "\n# %s:3\nMovableRatio=50\n", late) < 0)
                abort();
        tap_ok(strstr(text, want), "--check-config: MovableRatio= came from zz-last.conf:3");
        want = mfree(want);
        if (asprintf(&want, "\n# %s:5\nChunkBlocks=5\n", main_conf) < 0)
                abort();
        tap_ok(strstr(text, want), "--check-config: ChunkBlocks= came from the main file, line 5");
        want = mfree(want);
        tap_ok(strstr(text, "\n[Node 2]\n# credential memhotplugd.conf:3\nOnline=kernel\n"),
               "--check-config: [Node 2] follows [Memory]'s Online=, and says where that came from");
        tap_ok(strstr(text, "\nNumaAware=yes\n") && !strstr(text, "\nNumaAware=yes\n# "),
               "--check-config: a default has no origin line");
        if (asprintf(&want, "#   %s (credential memhotplugd.conf)\n", cred) < 0)
                abort();
        tap_ok(strstr(text, want), "--check-config lists the credential among the files read");

        /* No credential passed: the unit asks for it all the same. */
        config_free(TAKE_PTR(c));
        r = config_load_full(main_conf, false, (const char *const[]){ etc, NULL }, empty, &c, &error,
                             &error_file);
        tap_ok(r == 0 && c && c->n_files == 2 && c->credential_file == 0 && c->online == ONLINE_TYPE_OFFLINE,
               "a credentials directory without memhotplugd.conf: no error, the files alone (%s)",
               strna(error));

        /* A bad credential is refused like a bad file, and named. */
        config_free(TAKE_PTR(c));
        free(write_file("creds/memhotplugd.conf", "[Memory]\nOnline=sideways\n"));
        r = config_load_full(main_conf, false, (const char *const[]){ etc, NULL }, creds, &c, &error,
                             &error_file);
        tap_ok(r < 0 && !c, "a bad credential: refused");
        tap_is_str(error_file, cred, "a bad credential: the error names it");
        tap_ok(error && strncmp(error, cred, strlen(cred)) == 0 && strstr(error, ":2:"),
               "a bad credential: file and line in the message: %s", strna(error));
}

/* Every key set on a line of its own: --check-config names that line above it, so no two keys
 * share an origin slot. */
static void test_origin_every_key(void)
{
        static const char *const lines[] = {
                "[Daemon]",
                "ChunkBlocks=5",
                "ChunkPauseSec=1",
                "ScanAtStart=no",
                "LockMemory=no",
                "KernelAutoOnline=respect",
                "Demotion=yes",
                "UeventSource=udev",
                "LogLevel=debug",
                "MaxAttempts=2",
                "RetrySec=2",
                "OfflineTimeoutSec=0",
                "[Memory]",
                "Online=kernel",
                "MovableRatio=100",
                "NumaAware=no",
                "[Node 3]",
                "Online=movable",
                "MovableRatio=50",
                "NumaAware=yes",
                "[Dax]",
                "Mode=system-ram",
                "MemmapOnMemory=no",
                "Online=online",
                "ImportDaxctlConfig=no",
                "DaxctlConfigDirectory=/nonexistent",
                "[Dax r]",
                "MatchDevice=dax1.*",
                "MatchSource=cxl",
                "MatchNode=1",
                "MatchMemoryTier=4",
                "MatchNodeCPUs=no",
                "MatchSize=1G-",
                "MatchCXLSerial=0x1a",
                "MatchCXLRegion=region0",
                "MatchNvdimmUUID=8d2a5f3e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
                "Mode=devdax",
                "MemmapOnMemory=yes",
                "Online=kernel",
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *content = NULL, *path = NULL, *text = NULL, *error = NULL;
        size_t n_keys = 0, n_right = 0, n_origins = 0;
        char *key_end;

        content = strdup("");
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                char *next;

                if (asprintf(&next, "%s%s\n", content, lines[i]) < 0)
                        abort();
                free(content);
                content = next;
        }
        path = write_file("every-key.conf", content);
        tap_ok(config_load(path, true, &c, &error) == 0 && c, "every key set (%s)", strna(error));
        if (!c)
                return;
        text = dump(c);
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                _cleanup_(freep) char *want = NULL;

                key_end = strchr(lines[i], '=');
                if (!key_end)
                        continue;
                n_keys++;
                if (asprintf(&want, "\n# %s:%zu\n%.*s=", path, i + 1, (int)(key_end - lines[i]), lines[i]) <
                    0)
                        abort();
                if (strstr(text, want))
                        n_right++;
                else
                        printf("# no \"%s\" in the dump\n", want + 1);
        }
        for (const char *p = text; (p = strstr(p, "\n# ")); p++)
                if (strncmp(p + 3, path, strlen(path)) == 0)
                        n_origins++;
        tap_is_int(n_right, n_keys, "--check-config names the line of each of the %zu keys", n_keys);
        tap_is_int(n_origins, n_keys, "and no other line");
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
        test_credential();
        test_origin_every_key();

        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                return 1;
        return tap_done();
}

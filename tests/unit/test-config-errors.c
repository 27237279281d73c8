/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ini-file.h"
#include "macro.h"
#include "tap.h"

/* Which config errors are the files' and which the system's: the first kind is logged with
 * SYNTHETIC_ERRNO() (no ERRNO= in the journal, since no system call returned it), the second
 * with the errno the kernel gave. */

static char dir[256];

#include "conf-files.h"

static char *path_in(const char *name)
{
        char *p;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        return p;
}

/* Loads path; the error must be the files' (want_errno as a synthetic errno for the log) or, with
 * system set, the system's (want_errno itself). */
static void expect(const char *path, int want_errno, bool system, const char *what)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        int r, l;

        r = config_load(path, true, &c, &error);
        l = config_error_for_log(r);
        tap_ok(r == -want_errno && !c, "%s: %s (%s)", what, strerror(want_errno), strna(error));
        if (system)
                tap_ok(l == r && !IS_SYNTHETIC_ERRNO(l), "%s: logged with ERRNO=%d", what, want_errno);
        else
                tap_ok(IS_SYNTHETIC_ERRNO(l) && ERRNO_VALUE(l) == want_errno,
                       "%s: logged without ERRNO=", what);
}

static void expect_content(const char *content, int want_errno, const char *what)
{
        _cleanup_(freep) char *path = write_file("main.conf", content);

        expect(path, want_errno, false, what);
}

static void test_content(void)
{
        _cleanup_(freep) char *long_line = repeat('x', 300), *text = NULL, *big = NULL;
        FILE *f;

        expect_content("[Memory]\nOnline=sideways\n", EINVAL, "a bad value");
        expect_content("[Daemon]\nChunkBlokcs=8\n", EINVAL, "an unknown key");
        expect_content("[Bogus]\nFoo=1\n", EINVAL, "an unknown section");
        expect_content("[Memory]\nno equals sign\n", EINVAL, "a syntax error");
        if (asprintf(&text, "# %s\n", long_line) < 0)
                abort();
        expect_content(text, EINVAL, "a line too long");

        big = path_in("rules.conf");
        f = fopen(big, "we");
        if (!f)
                abort();
        for (unsigned i = 0; i <= CONFIG_DAX_RULES_MAX; i++)
                fprintf(f, "[Dax r%u]\nMode=ignore\n", i);
        fclose(f);
        expect(big, EINVAL, false, "too many [Dax NAME] rules");

        f = fopen(big, "we");
        if (!f)
                abort();
        for (unsigned i = 0; i < INI_FILE_SIZE_MAX / 100 + 1; i++)
                fprintf(f, "%s\n", long_line + 201);
        fclose(f);
        expect(big, EFBIG, false, "a file over 1 MiB");
        unlink(big);
}

static void test_shape(void)
{
        _cleanup_(freep) char *main_conf = write_file("many.conf", "[Daemon]\nChunkBlocks=4\n");
        _cleanup_(freep) char *d = path_in("many.conf.d"), *fifo = path_in("fifo.conf");
        _cleanup_(freep) char *ddir = path_in("daxctl.d"), *text = NULL, *dax_conf = NULL;

        mkdir(d, 0755);
        for (unsigned i = 0; i <= INI_CONF_FILES_MAX; i++) {
                _cleanup_(freep) char *name = NULL, *p = NULL;

                if (asprintf(&name, "many.conf.d/%04u.conf", i) < 0)
                        abort();
                p = write_file(name, "");
        }
        expect(main_conf, E2BIG, false, "too many drop-ins");

        if (mkfifo(fifo, 0600) < 0)
                abort();
        alarm(20); /* a FIFO that were opened would wait for a writer */
        expect(fifo, EBADFD, false, "a FIFO");
        alarm(0);

        mkdir(ddir, 0755);
        if (asprintf(&text, "[Dax]\nImportDaxctlConfig=yes\nDaxctlConfigDirectory=%s\n", ddir) < 0)
                abort();
        dax_conf = write_file("dax.conf", text);
        free(write_file("daxctl.d/d.conf", "[reconfigure-device x]\nmode = system-ram\n"));
        expect(dax_conf, ENOKEY, false, "a daxctl section without nvdimm.uuid=");
}

static void test_system(void)
{
        _cleanup_(freep) char *absent = path_in("absent.conf"), *loop = path_in("loop.conf");
        _cleanup_(freep) char *a_dir = path_in("a-dir.conf"), *under_file = path_in("plain/x.conf");

        expect(absent, ENOENT, true, "a missing --config file");
        if (symlink("loop.conf", loop) < 0)
                abort();
        expect(loop, ELOOP, true, "a symlink loop");
        mkdir(a_dir, 0755);
        expect(a_dir, EISDIR, true, "a directory");
        free(write_file("plain", ""));
        expect(under_file, ENOTDIR, true, "a path through a plain file");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)remove(path);
        return 0;
}

int main(void)
{
        snprintf(dir, sizeof(dir), "%s/test-config-errors.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp: %s\n", strerror(errno));
                return 1;
        }
        test_content();
        test_shape();
        test_system();
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "tap.h"

/* The runtime files of the daemon (the saved kernel settings): made with their directories,
 * replaced whole, nothing left behind when a write cannot be done, and the temporary files a kill
 * left removed at the next start. */

static char *read_text(const char *path, char *buf, size_t size)
{
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return NULL;
        n = fread(buf, 1, size - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)remove(path);
        return 0;
}

int main(void)
{
        char tmp[256], path[512], other[512], buf[64];
        struct stat st;

        snprintf(tmp, sizeof(tmp), "%s/test-fileio.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(tmp)) {
                printf("Bail out! mkdtemp: %s\n", strerror(errno));
                return 1;
        }

        snprintf(path, sizeof(path), "%s/a/b/c", tmp);
        tap_is_int(mkdir_p(path, 0755), 0, "mkdir_p: makes every missing directory");
        tap_ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "mkdir_p: the last one is a directory");
        tap_is_int(mkdir_p(path, 0755), 0, "mkdir_p: an existing directory is fine");
        snprintf(path, sizeof(path), "%s/a/b/c/", tmp);
        tap_is_int(mkdir_p(path, 0755), 0, "mkdir_p: a trailing slash");
        tap_is_int(mkdir_p("", 0755), -EINVAL, "mkdir_p: empty path");

        snprintf(path, sizeof(path), "%s/run/memhotplugd/kernel-auto-online", tmp);
        tap_is_int(write_file_atomic(path, "online\n"), 0, "atomic: parents made, file written");
        tap_is_str(read_text(path, buf, sizeof(buf)), "online\n", "atomic: the content");
        tap_is_int(write_file_atomic(path, "online_movable\n"), 0, "atomic: replaced");
        tap_is_str(read_text(path, buf, sizeof(buf)), "online_movable\n", "atomic: the new content whole");
        snprintf(other, sizeof(other), "%s/run/memhotplugd", tmp);
        tap_is_int(count_entries(other), 1, "atomic: no temporary file left");

        /* A regular file where the directory should be: ENOTDIR (as root, permissions would not
         * stop us; this does). */
        snprintf(other, sizeof(other), "%s/file", tmp);
        tap_is_int(write_file_atomic(other, "x"), 0, "atomic: a plain file to be in the way");
        snprintf(path, sizeof(path), "%s/file/run/kernel-auto-online", tmp);
        tap_is_int(write_file_atomic(path, "online\n"), -ENOTDIR, "atomic: a file in the directory's way");

        /* A directory where the file should be: the rename fails, the temporary file goes. */
        snprintf(path, sizeof(path), "%s/dir/kernel-auto-online", tmp);
        tap_is_int(mkdir_p(path, 0755), 0, "atomic: a directory in the file's place");
        tap_is_int(write_file_atomic(path, "online\n"), -EISDIR, "atomic: rename onto a directory fails");
        snprintf(other, sizeof(other), "%s/dir", tmp);
        tap_is_int(count_entries(other), 1, "atomic: the temporary file is removed after a failure");

        /* What a kill between mkostemp() and rename() leaves: removed at start, and nothing else. */
        snprintf(path, sizeof(path), "%s/stale/kernel-auto-online", tmp);
        tap_is_int(write_file_atomic(path, "online offline\n"), 0, "stale: the record itself");
        for (size_t i = 0; i < 4; i++) {
                static const char *const names[] = { "kernel-auto-online.a1B2c3",
                                                     "kernel-auto-online.Zz9yX8", "kernel-auto-online.short",
                                                     "demotion-enabled.a1B2c3" };

                snprintf(other, sizeof(other), "%s/stale/%s", tmp, names[i]);
                tap_is_int(write_file_atomic(other, "x"), 0, "stale: %s made", names[i]);
        }
        tap_is_int(remove_stale_temporaries(path), 2, "stale: both temporary files of the record removed");
        snprintf(other, sizeof(other), "%s/stale", tmp);
        tap_is_int(count_entries(other), 3,
                   "stale: the record, another record's file, a name of no mkostemp() left");
        tap_is_str(read_text(path, buf, sizeof(buf)), "online offline\n", "stale: the record untouched");
        snprintf(path, sizeof(path), "%s/missing/kernel-auto-online", tmp);
        tap_is_int(remove_stale_temporaries(path), 0, "stale: no directory, nothing to remove");

        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}

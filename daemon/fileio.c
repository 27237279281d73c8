/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_(freep) char *p = NULL;
        struct stat st;

        assert(path);

        if (!path[0])
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        /* Each prefix that ends before a '/', then the whole path. */
        for (char *s = p + 1;; s++) {
                char c = *s;

                if (c != '/' && c != '\0')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                if (c == '\0')
                        break;
                *s = c;
        }
        if (stat(path, &st) < 0)
                return negative_errno();
        return S_ISDIR(st.st_mode) ? 0 : -EEXIST;
}

static int write_all_and_sync(int fd, const char *value)
{
        size_t len = strlen(value);
        ssize_t n;

        n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        /* A regular file takes a few bytes whole unless the disk is full. */
        if ((size_t)n != len)
                return -ENOSPC;
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* The directory path is in, newly allocated (NULL: out of memory). */
static char *dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

int write_file_atomic(const char *path, const char *value)
{
        assert(path);
        assert(value);

        return write_file_atomic_mode(path, value, 0600);
}

int write_file_atomic_mode(const char *path, const char *value, mode_t mode)
{
        _cleanup_(freep) char *dir = NULL, *tmp = NULL;
        _cleanup_(closep) int fd = -EBADF, dfd = -EBADF;
        int r;

        assert(path);
        assert(value);

        dir = dir_of(path);
        if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* mkostemp() makes it 0600; a file for other readers says so before it is in place. */
        r = mode == 0600 || fchmod(fd, mode) >= 0 ? 0 : negative_errno();
        if (r >= 0)
                r = write_all_and_sync(fd, value);
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }

        /* The new file is in place. Syncing the directory makes the rename survive a power cut
         * where it is on a disk (on /run it does nothing); some file systems refuse it, and the
         * file is there either way, so a failure here is not one of the write. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void)fsync(dfd);
        return 0;
}

/* mkostemp()'s suffix: six letters or digits. */
static bool is_temporary_of(const char *name, const char *base, size_t n)
{
        if (strncmp(name, base, n) != 0 || name[n] != '.' || strlen(name + n + 1) != 6)
                return false;
        for (const char *c = name + n + 1; *c; c++)
                if (!isalnum((unsigned char)*c))
                        return false;
        return true;
}

int remove_stale_temporaries(const char *path)
{
        _cleanup_(freep) char *dir = NULL;
        const char *slash, *base;
        struct dirent *de;
        size_t n;
        DIR *d;
        int removed = 0;

        assert(path);

        slash = strrchr(path, '/');
        base = slash ? slash + 1 : path;
        n = strlen(base);
        dir = dir_of(path);
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d)))
                if (is_temporary_of(de->d_name, base, n) && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        removed++;
        closedir(d);
        return removed;
}

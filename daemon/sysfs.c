/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "macro.h"
#include "read-file.h"
#include "sysfs.h"

struct Sysfs {
        char *root;
        int memory_fd;
        bool memory_is_sysfs; /* memory_fd is the kernel's own sysfs, not a test tree */
        int has_numa;         /* -1: not looked up yet */
};

int sysfs_new(const char *root, Sysfs **ret)
{
        _cleanup_(freep) Sysfs *s = NULL;
        size_t n;

        assert(ret);

        s = calloc(1, sizeof(Sysfs));
        if (!s)
                return -ENOMEM;
        s->root = strdup(root ?: "/sys");
        if (!s->root)
                return -ENOMEM;
        n = strlen(s->root);
        while (n > 1 && s->root[n - 1] == '/')
                s->root[--n] = '\0';
        s->memory_fd = -EBADF;
        s->has_numa = -1;
        *ret = TAKE_PTR(s);
        return 0;
}

Sysfs *sysfs_free(Sysfs *s)
{
        if (!s)
                return NULL;
        if (s->memory_fd >= 0)
                close(s->memory_fd);
        free(s->root);
        free(s);
        return NULL;
}

const char *sysfs_root(const Sysfs *s)
{
        assert(s);

        return s->root;
}

int sysfs_open_dir(Sysfs *s, const char *path)
{
        _cleanup_(freep) char *p = NULL;
        int fd;

        assert(s);
        assert(path);

        /* By absolute path (not openat from a root fd) so umockdev's preload can redirect it. */
        if (asprintf(&p, "%s/%s", s->root, path) < 0)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

bool sysfs_has_numa(Sysfs *s)
{
        int fd;

        assert(s);

        if (s->has_numa < 0) {
                fd = sysfs_open_dir(s, "devices/system/node");
                s->has_numa = fd >= 0;
                if (fd >= 0)
                        close(fd);
        }
        return s->has_numa;
}

int sysfs_memory_fd(Sysfs *s)
{
        struct statfs sf;
        int fd;

        assert(s);

        if (s->memory_fd >= 0)
                return s->memory_fd;
        fd = sysfs_open_dir(s, "devices/system/memory");
        if (fd < 0)
                return fd;
        s->memory_fd = fd;
        s->memory_is_sysfs = fstatfs(fd, &sf) >= 0 && sf.f_type == SYSFS_MAGIC;
        return fd;
}

static int opendir_fd(int fd, DIR **ret)
{
        DIR *d;

        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int sysfs_opendir_at(int dirfd, const char *path, DIR **ret)
{
        int fd;

        assert(path);
        assert(ret);

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return opendir_fd(fd, ret);
}

int sysfs_opendir(Sysfs *s, const char *path, DIR **ret)
{
        int fd;

        assert(s);
        assert(path);
        assert(ret);

        fd = sysfs_open_dir(s, path);
        if (fd < 0)
                return fd;
        return opendir_fd(fd, ret);
}

/* Reads an opened attribute into buf, without its trailing newline. */
static int read_value(int fd, char *buf, size_t size)
{
        ssize_t n;

        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        /* sysfs answers in one read; a value filling the buffer was cut, and a cut value would parse
         * as something it is not. */
        if ((size_t)n == size - 1)
                return -E2BIG;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                n--;
        buf[n] = '\0';
        return (int)n;
}

int sysfs_read_at(int dirfd, const char *path, char *buf, size_t size)
{
        _cleanup_(closep) int fd = -EBADF;

        assert(path);
        assert(buf);

        if (size < 2)
                return -EINVAL;
        /* A FIFO or a device where a test tree (or a broken kernel) puts an attribute must not
         * stall the daemon: regular files only, and the buffer is the cap. */
        fd = open_regular_at(dirfd, path, NULL);
        if (fd < 0)
                return fd;
        return read_value(fd, buf, size);
}

int sysfs_read_memory(Sysfs *s, const char *path, char *buf, size_t size)
{
        _cleanup_(closep) int fd = -EBADF;
        int dirfd;

        assert(s);
        assert(path);
        assert(buf);

        if (size < 2)
                return -EINVAL;
        dirfd = sysfs_memory_fd(s);
        if (dirfd < 0)
                return dirfd;
        if (!s->memory_is_sysfs)
                return sysfs_read_at(dirfd, path, buf, size);
        /* The kernel's sysfs has regular files only: no fstat() for each of a hot-add's reads. */
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_value(fd, buf, size);
}

int sysfs_write_at(int dirfd, const char *path, const char *value)
{
        _cleanup_(closep) int fd = -EBADF;
        size_t len;
        ssize_t n;

        assert(path);
        assert(value);

        len = strlen(value);
        fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

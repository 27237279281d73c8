/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "read-file.h"

int open_regular_at(int dirfd, const char *path, struct stat *ret_st)
{
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;

        assert(path);

        /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; for a regular file it
         * changes nothing. The type is checked on the opened fd, so a rename cannot swap it. */
        fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (ret_st)
                *ret_st = st;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return TAKE_FD(fd);
}

int read_fd_capped(int fd, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, alloc;
        struct stat st;

        assert(ret);

        if (max >= SIZE_MAX / 2)
                return -EINVAL;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* sysfs says 4096 and /proc 0 whatever they hold, so the size is a hint: the reads below
         * are what holds the cap. */
        if (st.st_size > 0 && (uint64_t)st.st_size > max)
                return -EFBIG;
        /* One byte past the cap tells a file of exactly max bytes from a larger one. */
        alloc = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
        if (alloc > max + 2)
                alloc = max + 2;
        buf = malloc(alloc);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (size + 1 == alloc) {
                        size_t more = alloc > (max + 2) / 2 ? max + 2 : alloc * 2;
                        char *b = realloc(buf, more);

                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        alloc = more;
                }
                n = read(fd, buf + size, alloc - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t)n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_file_capped_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_(closep) int fd = -EBADF;

        assert(path);
        assert(ret);
        assert(ret_size);

        fd = open_regular_at(dirfd, path, NULL);
        if (fd < 0)
                return fd;
        return read_fd_capped(fd, max, ret, ret_size);
}

/* A stream over a buffer it owns: fmemopen() would leave the buffer to the caller, and refuses an
 * empty one. */
typedef struct Buffer {
        char *data;
        size_t size, pos;
} Buffer;

static ssize_t buffer_read(void *cookie, char *out, size_t n)
{
        Buffer *b = cookie;

        if (n > b->size - b->pos)
                n = b->size - b->pos;
        memcpy(out, b->data + b->pos, n);
        b->pos += n;
        return (ssize_t)n;
}

static int buffer_close(void *cookie)
{
        Buffer *b = cookie;

        free(b->data);
        free(b);
        return 0;
}

static FILE *buffer_stream(char *data, size_t size)
{
        Buffer *b;
        FILE *f;

        b = malloc(sizeof(Buffer));
        if (!b)
                return NULL;
        *b = (Buffer){ .data = data, .size = size };
        f = fopencookie(b, "r", (cookie_io_functions_t){ .read = buffer_read, .close = buffer_close });
        if (!f)
                free(b);
        return f;
}

FILE *fopen_buffer(const char *data, size_t size)
{
        char *copy;
        FILE *f;

        assert(data || size == 0);

        copy = malloc(size + 1);
        if (!copy)
                return NULL;
        if (size > 0)
                memcpy(copy, data, size);
        f = buffer_stream(copy, size);
        if (!f)
                free(copy);
        return f;
}

int fdopen_capped(int fd, size_t max, FILE **ret)
{
        _cleanup_(freep) char *data = NULL;
        size_t size;
        FILE *f;
        int r;

        assert(ret);

        r = read_fd_capped(fd, max, &data, &size);
        if (r < 0)
                return r;
        f = buffer_stream(data, size);
        if (!f)
                return -ENOMEM;
        TAKE_PTR(data);
        *ret = f;
        return 0;
}

int fopen_capped_at(int dirfd, const char *path, size_t max, FILE **ret)
{
        _cleanup_(closep) int fd = -EBADF;

        assert(path);
        assert(ret);

        fd = open_regular_at(dirfd, path, NULL);
        if (fd < 0)
                return fd;
        return fdopen_capped(fd, max, ret);
}

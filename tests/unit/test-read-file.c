/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel-info.h"
#include "macro.h"
#include "read-file.h"
#include "sysfs.h"
#include "tap.h"
#include "virtio-mem.h"

/* Every file the daemon reads is opened through read-file.c: what a test tree (or a mistake) can
 * put where a file is expected must neither stall the daemon nor be read without end. Each reader
 * below is given a FIFO, which would wait for a writer for ever if opened blocking, and a link to
 * /dev/zero, which never ends. */

static char dir[] = "/tmp/memhotplugd-test-read-file.XXXXXX";

static char *path_of(const char *name)
{
        char *p;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        return p;
}

static void put(const char *name, size_t size)
{
        _cleanup_(freep) char *p = path_of(name);
        FILE *f = fopen(p, "we");

        if (!f)
                abort();
        for (size_t i = 0; i < size; i++)
                fputc('x', f);
        fclose(f);
}

static void test_helper(void)
{
        _cleanup_(freep) char *fifo = path_of("fifo"), *zero = path_of("zero"), *exact = path_of("exact"),
                              *over = path_of("over"), *empty = path_of("empty");
        char *data = NULL;
        size_t size = 0;
        FILE *f = NULL;

        tap_is_int(read_file_capped_at(AT_FDCWD, fifo, 64, &data, &size), -EBADFD,
                   "a FIFO: -EBADFD, at once");
        tap_is_int(read_file_capped_at(AT_FDCWD, zero, 64, &data, &size), -EBADFD, "/dev/zero: -EBADFD");
        tap_is_int(read_file_capped_at(AT_FDCWD, dir, 64, &data, &size), -EISDIR, "a directory: -EISDIR");
        tap_is_int(read_file_capped_at(AT_FDCWD, over, 64, &data, &size), -EFBIG,
                   "65 bytes, cap 64: -EFBIG");
        tap_is_int(read_file_capped_at(AT_FDCWD, exact, 64, &data, &size), 0, "64 bytes, cap 64: read");
        tap_ok(data && size == 64 && strlen(data) == 64, "all 64 bytes, NUL-terminated");
        free(data);
        data = NULL;
        tap_is_int(read_file_capped_at(AT_FDCWD, empty, 64, &data, &size), 0, "an empty file: read");
        tap_ok(data && size == 0 && data[0] == '\0', "as an empty string");
        free(data);
        data = NULL;
        /* /proc says 0 bytes whatever it holds: the cap is held by the reads, not by the size. */
        tap_is_int(read_file_capped_at(AT_FDCWD, "/proc/self/status", 16, &data, &size), -EFBIG,
                   "/proc/self/status (size 0 in stat) over a cap of 16: -EFBIG");
        tap_is_int(fopen_capped_at(AT_FDCWD, fifo, 64, &f), -EBADFD, "fopen_capped_at: a FIFO refused");
        tap_is_int(fopen_capped_at(AT_FDCWD, exact, 64, &f), 0, "fopen_capped_at: a file read");
        if (f) {
                char buf[80];

                tap_ok(fgets(buf, sizeof(buf), f) && strlen(buf) == 64 && !fgets(buf, sizeof(buf), f),
                       "its stream gives the 64 bytes, then the end");
                fclose(f);
        }
}

static void test_readers(void)
{
        _cleanup_(sysfs_freep) Sysfs *s = NULL;
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *fifo = path_of("fifo"), *zero = path_of("zero");
        VirtioMemMap v;
        uint64_t x;
        char buf[64];

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || sysfs_new(dir, &s) < 0)
                abort();
        tap_is_int(sysfs_read_at(fd, "fifo", buf, sizeof(buf)), -EBADFD,
                   "sysfs_read_at: a FIFO attribute refused");
        tap_is_int(sysfs_read_at(fd, "zero", buf, sizeof(buf)), -EBADFD,
                   "sysfs_read_at: a /dev/zero attribute refused");
        tap_is_int(kernel_read_vmstat(fifo, "nr_memmap_pages", &x), -EBADFD, "vmstat: a FIFO refused");
        tap_is_int(kernel_read_vmstat(zero, "nr_memmap_pages", &x), -EBADFD, "vmstat: /dev/zero refused");
        tap_is_int(virtio_mem_open(fifo, s, 128 << 20, &v), -EBADFD, "--iomem: a FIFO refused");
        virtio_mem_done(&v);
        tap_is_int(virtio_mem_open(zero, s, 128 << 20, &v), -EBADFD, "--iomem: /dev/zero refused");
        virtio_mem_done(&v);
}

int main(void)
{
        _cleanup_(freep) char *fifo = NULL, *zero = NULL, *cmd = NULL;

        if (!mkdtemp(dir))
                return 1;
        fifo = path_of("fifo");
        zero = path_of("zero");
        if (mkfifo(fifo, 0644) < 0 || symlink("/dev/zero", zero) < 0)
                return 1;
        put("exact", 64);
        put("over", 65);
        put("empty", 0);

        test_helper();
        test_readers();

        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                return 1;
        return tap_done();
}

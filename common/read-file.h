/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/* Every file the daemon reads is opened here: udev rules, config and daxctl files, /proc files,
 * sysfs attributes and its own runtime files. Opening never waits (a FIFO would wait for a writer
 * for ever), only regular files are read (/dev/zero never ends; sysfs and /proc attributes are
 * regular files too), and no file is read past the cap for its kind: a file the daemon does not
 * control cannot make it stall or grow. */

/* Caps, one per kind of file, each far above what the file holds: udev's largest rules file is
 * about 10 KiB, /proc/iomem a line per resource, /proc/vmstat and /proc/self/status a few KiB; the
 * offline marks are one short line a marked block (16 MiB: a million blocks). A config or daxctl
 * file is INI_FILE_SIZE_MAX (policy/ini-file.h); a sysfs attribute is the caller's buffer. */
#define READ_MAX_UDEV_RULES   ((size_t)1 << 20)
#define READ_MAX_PROC         ((size_t)4 << 20)
#define READ_MAX_OFFLINE_MARK ((size_t)16 << 20)

/* Opens path (relative to dirfd, or absolute) with O_NONBLOCK|O_CLOEXEC|O_NOCTTY and returns the
 * fd. -EISDIR for a directory, -EBADFD for anything else that is not a regular file. With ret_st,
 * the file's stat, also when it is refused (a caller may treat /dev/null as a mask). */
int open_regular_at(int dirfd, const char *path, struct stat *ret_st);

/* Reads fd from its current offset to the end, NUL-terminated. -EFBIG, without reading it, when
 * the file says it is larger than max, or when more than max bytes come. */
int read_fd_capped(int fd, size_t max, char **ret, size_t *ret_size);

/* open_regular_at() and read_fd_capped(). */
int read_file_capped_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

/* A read-only stream over the whole of what read_fd_capped() read (the fd is not kept). */
int fdopen_capped(int fd, size_t max, FILE **ret);
int fopen_capped_at(int dirfd, const char *path, size_t max, FILE **ret);

/* A read-only stream over a copy of size bytes of data (for parsers that take a FILE). */
FILE *fopen_buffer(const char *data, size_t size);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

/* Every sysfs read and write of the daemon goes through here, relative to a root that is /sys in
 * production and a temporary tree (or a umockdev testbed) under test. */
typedef struct Sysfs Sysfs;

int sysfs_new(const char *root, Sysfs **ret);
Sysfs *sysfs_free(Sysfs *s);
static inline void sysfs_freep(Sysfs **s)
{
        sysfs_free(*s);
}

const char *sysfs_root(const Sysfs *s);

/* The directory fd of devices/system/memory, opened once and kept. -ENOENT when the kernel has no
 * memory hotplug support. */
int sysfs_memory_fd(Sysfs *s);

/* Opens a directory below the root, e.g. "devices/system/node". */
int sysfs_open_dir(Sysfs *s, const char *path);

/* Whether devices/system/node exists (a NUMA kernel): then every memory block gets a nodeN link,
 * if not at once. Looked up once. */
bool sysfs_has_numa(Sysfs *s);

/* A directory listing: below dirfd ("." for dirfd itself, with an offset of its own), or below
 * the root. */
int sysfs_opendir_at(int dirfd, const char *path, DIR **ret);
int sysfs_opendir(Sysfs *s, const char *path, DIR **ret);

/* Reads an attribute below dirfd, without the trailing newline; returns its length. Regular files
 * only (open_regular_at()); a value that does not fit in size - 1 bytes is -E2BIG. */
int sysfs_read_at(int dirfd, const char *path, char *buf, size_t size);
/* The same below devices/system/memory, where the hot-add path reads: on the kernel's own sysfs
 * without the regular-file check, which its attributes always pass. */
int sysfs_read_memory(Sysfs *s, const char *path, char *buf, size_t size);
/* Writes value in one write(2) to a truncated file, as the kernel's store() handlers expect. */
int sysfs_write_at(int dirfd, const char *path, const char *value);

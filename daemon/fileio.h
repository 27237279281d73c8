/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Files of our own (runtime state), never sysfs attributes: those go through sysfs.c. */

/* mkdir -p: makes each missing directory of path with mode; an existing directory is fine,
 * anything else in the way is -ENOTDIR (or -EEXIST for the last component). */
int mkdir_p(const char *path, mode_t mode);

/* Replaces path with value whole or not at all: written to a temporary file next to it, synced,
 * renamed over it, and the directory synced. A crash at any point leaves the old file or the new
 * one, never an empty or cut one. The directory is made first if missing. */
int write_file_atomic(const char *path, const char *value);
/* The same, the file given mode (write_file_atomic(): 0600, ours alone). */
int write_file_atomic_mode(const char *path, const char *value, mode_t mode);

/* Removes the temporary files write_file_atomic(path, …) leaves when it is killed before its rename
 * ("path.XXXXXX"): returns how many, or a negative errno. Call it before any write of path. */
int remove_stale_temporaries(const char *path);

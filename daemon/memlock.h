/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* LockMemory=: the daemon's pages kept in RAM (mlockall() on fault, with the objects the hot-add
 * path runs in read in whole), so that onlining memory under pressure never waits for its own
 * code to be read back from disk. Returns 1 when later mappings are locked too (MCL_FUTURE: only
 * with RLIMIT_MEMLOCK unlimited), 0 when only the current ones. */
int memlock_set(bool lock);

/* The resident pages of this process that are locked, and all of its resident pages, in bytes
 * (Locked and Rss of /proc/self/smaps_rollup). */
int memlock_read_sizes(uint64_t *ret_locked, uint64_t *ret_rss);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* LockMemory=: the daemon's pages kept in RAM (mlockall), so that onlining memory under pressure
 * never waits for its own code to be read back from disk. Returns 1 when later mappings are
 * locked too (MCL_FUTURE: only with RLIMIT_MEMLOCK unlimited), 0 when only the current ones. */
int memlock_set(bool lock);

/* VmLck and VmRSS of this process, in bytes (from /proc/self/status). */
int memlock_read_sizes(uint64_t *ret_locked, uint64_t *ret_rss);

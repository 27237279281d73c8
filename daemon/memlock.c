/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "macro.h"
#include "memlock.h"
#include "read-file.h"

/* MCL_CURRENT reads in and locks every page mapped now: the binary, its libraries, the heap and
 * the stack. MCL_FUTURE locks what is mapped later as it is mapped (libdaxctl and libcxl, which
 * are dlopen()ed, heap growth). Under memory pressure with no swap, the only pages the kernel can
 * take from a daemon are its clean file pages (text and read-only data): those are what this keeps.
 * Not MCL_ONFAULT: code that runs only when memory is hot-added has never been touched before.
 *
 * With MCL_FUTURE, every later mapping counts against RLIMIT_MEMLOCK, and one past it fails (a
 * malloc() that returns NULL): under a finite limit only what is mapped now is locked, so that
 * locking can never be why an allocation fails. Returns 1 when MCL_FUTURE is in effect, 0 when not. */
int memlock_set(bool lock)
{
        struct rlimit rl;
        bool future;

        if (!lock)
                return munlockall() < 0 ? negative_errno() : 0;
        future = getrlimit(RLIMIT_MEMLOCK, &rl) >= 0 && rl.rlim_cur == RLIM_INFINITY;
        if (mlockall(MCL_CURRENT | (future ? MCL_FUTURE : 0)) < 0)
                return negative_errno();
        return future;
}

int memlock_read_sizes(uint64_t *ret_locked, uint64_t *ret_rss)
{
        _cleanup_(fclosep) FILE *f = NULL;
        char line[128];
        uint64_t kib, locked = UINT64_MAX, rss = UINT64_MAX;
        int r;

        r = fopen_capped_at(AT_FDCWD, "/proc/self/status", READ_MAX_PROC, &f);
        if (r < 0)
                return r;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "VmLck: %" SCNu64 " kB", &kib) == 1)
                        locked = kib * 1024;
                else if (sscanf(line, "VmRSS: %" SCNu64 " kB", &kib) == 1)
                        rss = kib * 1024;
        }
        if (locked == UINT64_MAX || rss == UINT64_MAX)
                return -ENOENT;
        *ret_locked = locked;
        *ret_rss = rss;
        return 0;
}

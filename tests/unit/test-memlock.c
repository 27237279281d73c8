/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LockMemory=: what memlock_set() locks. Lock-on-fault (a mapping nobody touched stays out of
 * memory) with the objects of the hot-add path read in whole (this program's own code, which holds
 * the daemon's, even the functions that never ran). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memlock.h"
#include "tap.h"

#define UNTOUCHED_SIZE ((size_t)8 << 20)

/* Never read, and larger than the kernel maps around a fault: its pages are in this process only
 * if memlock_set() reads in this program whole. */
__attribute__((used)) static const char never_read[(size_t)1 << 20] = { 1 };

static size_t resident_pages(const void *p, size_t size)
{
        size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (size + page - 1) / page, count = 0;
        unsigned char *vec = calloc(n, 1);

        if (!vec || mincore((void *)p, size, vec) < 0) {
                free(vec);
                return SIZE_MAX;
        }
        for (size_t i = 0; i < n; i++)
                count += vec[i] & 1;
        free(vec);
        return count;
}

/* The size, the Rss and whether it is locked ("lo" in VmFlags) of the mapping that holds p, from
 * smaps: pages mapped into this process, unlike mincore(), which also counts the page cache. */
static int mapping_of(const void *p, uint64_t *ret_size_kib, uint64_t *ret_rss_kib, bool *ret_locked)
{
        FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool in = false;
        uint64_t kib;

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                uintptr_t start, end;

                if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2)
                        in = (uintptr_t)p >= start && (uintptr_t)p < end;
                else if (in && sscanf(line, "Size: %" SCNu64 " kB", &kib) == 1)
                        *ret_size_kib = kib;
                else if (in && sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1)
                        *ret_rss_kib = kib;
                else if (in && strncmp(line, "VmFlags:", 8) == 0) {
                        *ret_locked = strstr(line, " lo ") != NULL;
                        fclose(f);
                        return 0;
                }
        }
        fclose(f);
        return -ENOENT;
}

/* The mapping that holds p is locked and holds want_kib resident (0: all of it). */
static void check_locked(const void *p, uint64_t want_kib, const char *what)
{
        uint64_t size = 0, rss = 0;
        bool locked = false;
        int r;

        r = mapping_of(p, &size, &rss, &locked);
        tap_ok(r == 0 && locked && rss == (want_kib ?: size) && size > 0,
               "%s (Rss %" PRIu64 " of %" PRIu64 " KiB, %s)", what, rss, size,
               locked ? "locked" : "not locked");
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

int main(void)
{
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        uint64_t locked, rss;
        char *untouched;
        int r;

#ifdef UNDER_ASAN
        /* ASan maps its own shadow and allocator regions and serves malloc() from them, so what is
         * resident and what is locked is ASan's, not the daemon's; the plain build checks it. */
        printf("1..0 # SKIP under AddressSanitizer\n");
        return 0;
#endif

        /* Mapped before the lock and never touched, as the most of libgcrypt, libzstd and libc. */
        untouched = mmap(NULL, UNTOUCHED_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (untouched == MAP_FAILED) {
                printf("1..0 # SKIP mmap: %m\n");
                return 0;
        }

        r = memlock_set(true);
        if (r == -EPERM || r == -ENOMEM) {
                /* No CAP_IPC_LOCK and an RLIMIT_MEMLOCK below what this process maps. */
                printf("1..0 # SKIP mlockall: %s\n", strerror(-r));
                return 0;
        }
        tap_ok(r >= 0, "memlock_set(true): %s", r < 0 ? strerror(-r) : "ok");

        /* MCL_CURRENT alone read in and locked it all: 8 MiB for nothing. */
        tap_is_int(resident_pages(untouched, UNTOUCHED_SIZE), 0,
                   "a mapping never touched stays out of memory");
        untouched[page] = 1;
        tap_is_int(resident_pages(untouched, UNTOUCHED_SIZE), 1,
                   "a page touched after the lock is in memory");
        check_locked(untouched, page / 1024, "and locked, alone");

        /* Lock-on-fault alone would leave them out: they were never touched. */
        check_locked(never_read, 0, "this program's read-only data is locked whole, never read or not");
        check_locked((const void *)main, 0, "this program's code is locked whole");

        r = memlock_read_sizes(&locked, &rss);
        tap_ok(r == 0 && locked > 0 && locked <= rss && rss < UNTOUCHED_SIZE,
               "memlock_read_sizes(): %" PRIu64 " KiB locked of %" PRIu64 " KiB resident", locked >> 10,
               rss >> 10);

        tap_is_int(memlock_set(false), 0, "memlock_set(false)");
        r = memlock_read_sizes(&locked, &rss);
        tap_ok(r == 0 && locked == 0, "nothing locked after it (%" PRIu64 " KiB)", locked >> 10);

        munmap(untouched, UNTOUCHED_SIZE);
        return tap_done();
}

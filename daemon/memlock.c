/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libudev.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "macro.h"
#include "memlock.h"
#include "read-file.h"

/* The code a hot-add runs, by one function of each object it lies in: ours (what a block's
 * uevent, decision, state write, outcome and log go through, most of which a start with no
 * offline block never runs), libudev's uevent receive (no uevent before the first hot-add),
 * libsystemd's loop, journal and bus signals, and libc's calls under all of them. */
static const void *const hot_add_objects[] = {
        (const void *)memlock_set,
        (const void *)udev_monitor_receive_device,
        (const void *)sd_event_run,
        (const void *)write,
};

static bool object_holds(const struct dl_phdr_info *info, const void *p)
{
        uintptr_t a = (uintptr_t)p;

        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                uintptr_t start = info->dlpi_addr + ph->p_vaddr;

                if (ph->p_type == PT_LOAD && a >= start && a - start < ph->p_memsz)
                        return true;
        }
        return false;
}

/* mlock() without MCL_ONFAULT's laziness reads in and locks every page of the range now. */
static int populate_object(struct dl_phdr_info *info, size_t size, void *userdata)
{
        int *error = userdata;
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        bool wanted = false;

        for (size_t i = 0; i < ELEMENTSOF(hot_add_objects); i++)
                wanted = wanted || object_holds(info, hot_add_objects[i]);
        if (!wanted)
                return 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;

                if (ph->p_type != PT_LOAD)
                        continue;
                start &= ~(page - 1);
                end = (end + page - 1) & ~(page - 1);
                if (mlock((const void *)start, end - start) < 0) {
                        *error = negative_errno();
                        return 1;
                }
        }
        return 0;
}

/* Under memory pressure with no swap, the only pages the kernel can take from a daemon are its
 * clean file pages (text and read-only data): those are what this keeps. MCL_ONFAULT: a page is
 * locked once it is touched, so what is locked is what the daemon uses, not every page it maps:
 * libsystemd brings in libgcrypt, libzstd, liblzma and liblz4 for journal files the daemon never
 * reads, and MCL_CURRENT read them in and locked them whole (6.2 MiB resident against 4.1 MiB).
 * Lock-on-fault alone would leave out code that has never run: a start with no offline block
 * never decides, writes or reports one, and receives no uevent. So the objects that code lies in
 * are read in and locked whole (hot_add_objects), which is what running the hot-add once at start
 * would fault in; what the rest of the start touched (the loader, the other libraries'
 * relocations) stays locked too. MCL_FUTURE locks what is mapped later (libdaxctl and libcxl,
 * which are dlopen()ed, heap growth) as it is touched.
 *
 * With MCL_FUTURE, every later mapping counts against RLIMIT_MEMLOCK, and one past it fails (a
 * malloc() that returns NULL): under a finite limit only what is mapped now is locked, so that
 * locking can never be why an allocation fails. Returns 1 when MCL_FUTURE is in effect, 0 when not. */
int memlock_set(bool lock)
{
        struct rlimit rl;
        int error = 0;
        bool future;

        if (!lock)
                return munlockall() < 0 ? negative_errno() : 0;
        future = getrlimit(RLIMIT_MEMLOCK, &rl) >= 0 && rl.rlim_cur == RLIM_INFINITY;
        if (mlockall(MCL_CURRENT | MCL_ONFAULT | (future ? MCL_FUTURE : 0)) < 0)
                return negative_errno();
        (void)dl_iterate_phdr(populate_object, &error);
        if (error < 0) {
                (void)munlockall();
                return error;
        }
        return future;
}

/* From smaps, mapping by mapping: VmLck counts whole locked mappings, touched or not, and the
 * "Locked" of smaps_rollup is proportional (a libc page shared with ten processes counts a tenth),
 * where what is wanted is this process's resident pages in its locked mappings ("lo"). */
int memlock_read_sizes(uint64_t *ret_locked, uint64_t *ret_rss)
{
        _cleanup_(fclosep) FILE *f = NULL;
        char line[512];
        uint64_t kib, mapping = 0, locked = 0, rss = 0;
        bool seen = false;
        int r;

        assert(ret_locked);
        assert(ret_rss);

        r = fopen_capped_at(AT_FDCWD, "/proc/self/smaps", READ_MAX_PROC, &f);
        if (r < 0)
                return r;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1) {
                        mapping = kib * 1024;
                        rss += mapping;
                        seen = true;
                } else if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " lo "))
                        locked += mapping;
        }
        if (!seen)
                return -ENOENT;
        *ret_locked = locked;
        *ret_rss = rss;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An LD_PRELOAD shim for the integration tests: it plays the kernel's error answers to a write
 * into a memory block's "state", which umockdev cannot (its sysfs is plain files).
 *
 * For a write() to an fd whose path ends in "/state" and next to which "<path>.fault" exists, the
 * first word of that file says what happens:
 *   race            another agent onlined the block first: "online\n" goes into the file and the
 *                   write fails with EINVAL, as the kernel answers onlining an online block;
 *   EINVAL|EBUSY|EIO|EAGAIN
 *                   the write fails with that errno and the state stays "offline";
 *   ENODEV|ENOENT   the block was removed under the writer (ENODEV: the kernel's answer for a
 *                   deleted device; ENOENT: its directory went away between lookup and write); the
 *                   state stays as it was;
 *   short           write() takes only part of the value and returns that count (a short write,
 *                   which is no success); the state stays as it was;
 *   stall MS        an offline that the kernel keeps retrying: the state reads "going-offline"
 *                   while the write sleeps for MS milliseconds; a signal delivered to the writer
 *                   ends it early with EINTR (offline_pages() checks signal_pending() on every
 *                   round), else it fails with EBUSY after MS. Either way the state is "online"
 *                   again, as the kernel leaves a block whose offlining it gave up.
 *   hold RESULT     a write that the test ends, deterministically: the state reads "going-offline",
 *                   "<path>.held" appears, and the write waits, deaf to signals (a kernel past its
 *                   last signal_pending() check, or one that never ends the retry), until the test
 *                   creates "<path>.release". Then both files go and the write ends with RESULT:
 *                   "ok" (the offline completed: the value lands in the file, as the kernel then
 *                   shows) or an errno word (EBUSY: the block is "online" again).
 *   late RESULT     a kernel that ends the offline its own way just as the daemon's signal comes: as
 *                   "hold", but the write waits for the first signal delivered to the writer and
 *                   then ends with RESULT (not EINTR): "ok" (done before it saw the signal) or EBUSY
 *                   (gave up for a reason of its own).
 * An optional number after the word ("EBUSY 2", "stall 5000 2", "hold ok 1") limits the fault to that many
 * writes; the fault file is removed when they are used up. The same file next to "auto_online_blocks" or a
 * dax device's "memmap_on_memory" fails a write there with the errno (or takes half of it, "short").
 *
 * Every write to a "state", "auto_online_blocks" or "memmap_on_memory" file, or to a file of the
 * dax bus (bus/dax/drivers/DRIVER/{new_id,remove_id,bind,unbind}), is appended to $MHP_WRITE_LOG (if
 * set) as "<CLOCK_MONOTONIC ns> <pid> <path> <value> <result>", so the tests see the exact time,
 * order and outcome of each write, independent of how fast they read inotify events.
 *
 * Writes to the dax bus's driver files are synchronous in the kernel: libdaxctl checks the device's
 * "driver" link right after its write to bind or unbind returns. With MHP_DAX_ACK=1 such a write
 * waits, after it landed in the testbed and the log, until the test's dax emulator has played the
 * kernel's part and created "$MHP_WRITE_LOG.ack.<ns>" (ns as in the log line); the file holds "ok"
 * or the errno name the kernel answers (EBUSY, ENODEV, EINVAL, ENXIO). So is a write to a dax
 * device's own "state" (daxX.Y/state, Linux 7.3), which adds or removes the device's blocks before
 * it returns.
 *
 * libdaxctl (and libcxl) load kernel modules through libkmod before binding a driver. The tests
 * must never touch the machine's kernel: kmod_module_probe_insert_module() and
 * kmod_module_insert_module() are replaced by versions that only log "<ns> <pid> kmod:insert
 * <module> ok" and succeed. A preloaded definition wins even for a library the daemon dlopen()s
 * with RTLD_LOCAL (libdaxctl is loaded that way): symbol lookup searches the global scope first.
 *
 * The uevent socket's overflow: when "$MHP_WRITE_LOG.overflow" exists and holds a number N, the next
 * recvmsg() on the daemon's uevent socket (under umockdev an AF_UNIX datagram socket; sd-bus's is a
 * stream) first discards up to N queued uevents, then fails with ENOBUFS, as a netlink socket
 * whose receive buffer overflowed does: the events are lost and the reader is told so once. The
 * file is removed, and "<ns> <pid> uevent:overflow <dropped> ENOBUFS" goes to the write log.
 *
 * With MHP_KERNEL_SYNC=1 a successful write of "online…" to a state file leaves "online" in it, as
 * the kernel shows right after its synchronous store returns (for tests that run without the
 * kernel emulator, such as the event storm, so that a second look at the block sees it online).
 *
 * As a guard for machines with real memory blocks, a write to a path under the real /sys aborts
 * the process: the daemon under test must only ever see a umockdev testbed or a temporary root.
 *
 * Kill points of the kernel-setting saves (saved-settings.h), in the daemon only: with MHP_STEP_DIR
 * set to its runtime directory, every step that changes what a restart finds is counted: a write()
 * to a file in that directory (the atomic write's temporary file), a rename() or unlink() (and
 * unlinkat()) there, and a write() to a kernel setting (auto_online_blocks, a memory_hotplug module
 * parameter, demotion_enabled). Each is appended to $MHP_STEP_LOG (if set) as "<pid> <n> <what>
 * <path>" before it happens. With MHP_KILL_AT_STEP=N the process sends itself SIGKILL (or the
 * signal numbered MHP_KILL_SIGNAL) just before its step N (1-based), so a test can end the daemon at
 * every point of the sequence, as a kill -9 at that moment would, without racing it. MHP_STEP_DELAY_US=U
 * sleeps U microseconds before each step, for tests that kill at random times and want them to land inside
 * the sequences.
 *
 * Put this library before libumockdev-preload.so.0 in LD_PRELOAD, so the daemon's write() lands
 * here first. Files are accessed with raw syscalls so umockdev's wrappers are not involved.
 *
 * The test process itself loads this library too, with MHP_FAULTS=0 (its own writes into the
 * testbed must not trip the faults) and MHP_PACE_SENDMSG=1: umockdev's uevent sender writes to
 * the listener's AF_UNIX datagram socket without blocking and exits the whole process on EAGAIN,
 * which a burst of more than net.unix.max_dgram_qlen (10) uevents gets while the daemon is busy
 * onlining. With MHP_PACE_SENDMSG, sendmsg() waits for room instead (up to 30 s), and a listener
 * that is gone (ECONNREFUSED: a stopped daemon's socket) is skipped, as the kernel skips one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* openat() and openat64() are both defined below: the header must not rename the first into the
 * second. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int fd, const void *buf, size_t count);

static write_fn real_write_get(void)
{
        static write_fn real;

        if (!real)
                real = (write_fn)dlsym(RTLD_NEXT, "write");
        return real;
}

static ssize_t raw_write(int fd, const void *buf, size_t count)
{
        return syscall(SYS_write, fd, buf, count);
}

static int raw_open(const char *path, int flags, mode_t mode)
{
        return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
}

static void raw_close(int fd)
{
        (void)syscall(SYS_close, fd);
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ".../daxX.Y/state": a dax device's whole-device hotplug state, not a memory block's. */
static bool is_dax_state(const char *path)
{
        const char *end, *p;

        if (!ends_with(path, "/state"))
                return false;
        end = path + strlen(path) - strlen("/state");
        for (p = end; p > path && p[-1] != '/'; p--)
                ;
        return end - p > 3 && strncmp(p, "dax", 3) == 0 && memchr(p, '.', end - p);
}

/* Returns the line's timestamp (0 when nothing was logged). */
static long long log_write(const char *path, const void *buf, size_t count, const char *result)
{
        const char *log = getenv("MHP_WRITE_LOG");
        char line[PATH_MAX + 256], value[64];
        struct timespec ts;
        long long ns;
        size_t n = 0;
        int fd, len;

        if (!log || !*log)
                return 0;
        for (size_t i = 0; i < count && n < sizeof(value) - 1; i++) {
                char c = ((const char *)buf)[i];

                if (c == '\0') /* libdaxctl writes the terminating NUL too */
                        break;
                if (c == '\n')
                        continue;
                value[n++] = c == ' ' ? '?' : c; /* keeps the line's fields apart */
        }
        value[n] = '\0';
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        len = snprintf(line, sizeof(line), "%lld %d %s %s %s\n", ns, (int)getpid(), path, n ? value : "-",
                       result);
        if (len <= 0 || (size_t)len >= sizeof(line))
                return 0;
        fd = raw_open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd < 0)
                return 0;
        (void)raw_write(fd, line, (size_t)len); /* one O_APPEND write: lines never interleave */
        raw_close(fd);
        return ns;
}

/* Waits for the dax emulator's answer to the write logged at ns; returns the errno it answers. */
static int dax_wait_ack(long long ns)
{
        const char *log = getenv("MHP_WRITE_LOG"), *ack = getenv("MHP_DAX_ACK");
        char path[PATH_MAX], buf[32] = "";
        bool told = false;
        ssize_t n;
        int fd;

        if (!ack || strcmp(ack, "1") != 0 || !log || !*log || ns == 0)
                return 0;
        if ((size_t)snprintf(path, sizeof(path), "%s.ack.%lld", log, ns) >= sizeof(path))
                return 0;
        for (int i = 0; i < 15000; i++) { /* 30 s */
                fd = raw_open(path, O_RDONLY, 0);
                if (fd >= 0) {
                        n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
                        raw_close(fd);
                        if (n <= 0) /* being written */
                                goto again;
                        buf[n] = '\0';
                        (void)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
                        if (strncmp(buf, "EBUSY", 5) == 0)
                                return EBUSY;
                        if (strncmp(buf, "ENODEV", 6) == 0)
                                return ENODEV;
                        if (strncmp(buf, "EINVAL", 6) == 0)
                                return EINVAL;
                        if (strncmp(buf, "ENXIO", 5) == 0)
                                return ENXIO;
                        if (strncmp(buf, "EINTR", 5) == 0)
                                return EINTR;
                        return 0;
                }
        again:;
                struct timespec ts = { 0, 2000000 };

                /* A signal to the writer (the daemon interrupting a long `unplugged`): the emulator
                 * is told through "<ack>.intr" and may answer EINTR, as the kernel gives up its
                 * offline on a pending signal and rolls the device back. */
                if (syscall(SYS_nanosleep, &ts, NULL) < 0 && errno == EINTR && !told) {
                        char intr[PATH_MAX + 8];

                        told = true;
                        snprintf(intr, sizeof(intr), "%s.intr", path);
                        fd = raw_open(intr, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                        if (fd >= 0)
                                raw_close(fd);
                }
        }
        {
                static const char msg[] = "fault-preload: no answer from the dax emulator within 30s\n";

                (void)raw_write(STDERR_FILENO, msg, sizeof(msg) - 1);
        }
        return ETIMEDOUT;
}

/* The faults a "<path>.fault" file can name, and how the write log shows them. */
#define FAULT_RACE  (-1)
#define FAULT_SHORT (-2)
#define FAULT_HOLD  (-3)
#define FAULT_LATE  (-4)
static const struct {
        const char *word;
        int fault; /* an errno, FAULT_RACE or FAULT_SHORT */
} faults[] = {
        { "race", FAULT_RACE }, { "short", FAULT_SHORT }, { "EINVAL", EINVAL }, { "EBUSY", EBUSY },
        { "EIO", EIO },         { "ENODEV", ENODEV },     { "ENOENT", ENOENT }, { "EAGAIN", EAGAIN },
        { "EINTR", EINTR }, /* a stall ended by a signal, in the write log */
};

static const char *fault_word(int fault)
{
        for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
                if (faults[i].fault == fault)
                        return faults[i].word;
        return "?";
}

static int fault_from_word(const char *word)
{
        for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
                if (strcmp(word, faults[i].word) == 0)
                        return faults[i].fault;
        return 0;
}

/* Reads and consumes one use of "<path>.fault"; returns the fault (0: none), and sets *stall_ms
 * for "stall MS" (whose fault is EBUSY, the answer after the stall) and *hold_result for "hold
 * RESULT" (FAULT_HOLD; 0 for "ok", else the errno). */
static int fault_take(const char *path, long *stall_ms, int *hold_result)
{
        char fpath[PATH_MAX + 8], buf[64], word[16] = "", result[16] = "";
        long count = -1, ms = 0;
        ssize_t n;
        int fd;

        if ((size_t)snprintf(fpath, sizeof(fpath), "%s.fault", path) >= sizeof(fpath))
                return 0;
        fd = raw_open(fpath, O_RDONLY, 0);
        if (fd < 0)
                return 0;
        n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
        raw_close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        if (strncmp(buf, "stall", 5) == 0) {
                if (sscanf(buf, "%15s %ld %ld", word, &ms, &count) < 2 || ms <= 0)
                        return 0;
        } else if (strncmp(buf, "hold", 4) == 0 || strncmp(buf, "late", 4) == 0) {
                if (sscanf(buf, "%15s %15s %ld", word, result, &count) < 2)
                        return 0;
        } else if (sscanf(buf, "%15s %ld", word, &count) < 1)
                return 0;

        if (count > 0) {
                /* Used up one: rewrite the count, or remove the file with the last one. */
                if (count == 1)
                        (void)syscall(SYS_unlinkat, AT_FDCWD, fpath, 0);
                else {
                        char nb[64];
                        int len = ms > 0 ? snprintf(nb, sizeof(nb), "%s %ld %ld\n", word, ms, count - 1)
                                  : *result
                                          ? snprintf(nb, sizeof(nb), "%s %s %ld\n", word, result, count - 1)
                                          : snprintf(nb, sizeof(nb), "%s %ld\n", word, count - 1);

                        fd = raw_open(fpath, O_WRONLY | O_TRUNC, 0);
                        if (fd >= 0) {
                                (void)raw_write(fd, nb, (size_t)len);
                                raw_close(fd);
                        }
                }
        }

        if (strcmp(word, "stall") == 0) {
                *stall_ms = ms;
                return EBUSY;
        }
        if (strcmp(word, "hold") == 0 || strcmp(word, "late") == 0) {
                *hold_result = strcmp(result, "ok") == 0 ? 0 : fault_from_word(result);
                return strcmp(word, "hold") == 0 ? FAULT_HOLD : FAULT_LATE;
        }
        return fault_from_word(word);
}

/* "hold": says it is inside the write, then waits for the test's "<path>.release", through any
 * signal (nanosleep's EINTR is only a wakeup); "late" (until_signal): waits for a signal instead. */
static void hold_write(const char *path, bool until_signal)
{
        char held[PATH_MAX + 8], release[PATH_MAX + 16];
        int fd;

        if ((size_t)snprintf(held, sizeof(held), "%s.held", path) >= sizeof(held) ||
            (size_t)snprintf(release, sizeof(release), "%s.release", path) >= sizeof(release))
                return;
        fd = raw_open(held, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
                raw_close(fd);
        while (syscall(SYS_faccessat, AT_FDCWD, release, F_OK, 0) < 0) {
                struct timespec ts = { 0, 2000000 };

                if (syscall(SYS_nanosleep, &ts, NULL) < 0 && errno == EINTR && until_signal)
                        break;
        }
        (void)syscall(SYS_unlinkat, AT_FDCWD, release, 0);
        (void)syscall(SYS_unlinkat, AT_FDCWD, held, 0);
}

static bool faults_enabled(void)
{
        const char *e = getenv("MHP_FAULTS");

        return !e || strcmp(e, "0") != 0;
}

static bool kernel_sync(void)
{
        const char *e = getenv("MHP_KERNEL_SYNC");

        return e && strcmp(e, "1") == 0;
}

/* The next definition of name (libumockdev's or libc's) into real; -1/ENOSYS without one. */
#define REAL_OR_ENOSYS(real, type, name)                                                                    \
        do {                                                                                                \
                if (!(real))                                                                                \
                        (real) = (type)dlsym(RTLD_NEXT, (name));                                            \
                if (!(real)) {                                                                              \
                        errno = ENOSYS;                                                                     \
                        return -1;                                                                          \
                }                                                                                           \
        } while (0)

/* The kill points (see the top of this file). */
static bool under_step_dir(const char *path)
{
        const char *dir = getenv("MHP_STEP_DIR");
        size_t n = dir ? strlen(dir) : 0;

        return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool is_setting(const char *path)
{
        return ends_with(path, "/auto_online_blocks") || ends_with(path, "/demotion_enabled") ||
               strstr(path, "/module/memory_hotplug/parameters/");
}

static void step(const char *what, const char *path)
{
        static int n;
        const char *log = getenv("MHP_STEP_LOG"), *kill_at = getenv("MHP_KILL_AT_STEP"),
                   *delay = getenv("MHP_STEP_DELAY_US");
        char line[PATH_MAX + 64];
        int fd, len, i;

        if (strcmp(program_invocation_short_name, "memhotplugd") != 0)
                return;
        i = __atomic_add_fetch(&n, 1, __ATOMIC_SEQ_CST);
        if (log && *log) {
                len = snprintf(line, sizeof(line), "%d %d %s %s\n", (int)getpid(), i, what, path);
                fd = raw_open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
                if (fd >= 0 && len > 0 && (size_t)len < sizeof(line))
                        (void)raw_write(fd, line, (size_t)len);
                if (fd >= 0)
                        raw_close(fd);
        }
        if (delay && *delay) {
                long us = strtol(delay, NULL, 10);
                struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

                (void)syscall(SYS_nanosleep, &ts, NULL);
        }
        if (kill_at && *kill_at && strtol(kill_at, NULL, 10) == i) {
                const char *sig = getenv("MHP_KILL_SIGNAL");

                (void)syscall(SYS_kill, getpid(), sig && *sig ? (int)strtol(sig, NULL, 10) : SIGKILL);
        }
}

/* The path of dirfd/name, for the *at() calls. */
static bool path_at(int dirfd, const char *name, char out[static PATH_MAX])
{
        char link[64];
        ssize_t n;

        if (name[0] == '/' || dirfd == AT_FDCWD)
                return (size_t)snprintf(out, PATH_MAX, "%s", name) < PATH_MAX;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        n = syscall(SYS_readlinkat, AT_FDCWD, link, out, PATH_MAX - 1);
        if (n <= 0)
                return false;
        out[n] = '\0';
        return (size_t)snprintf(out + n, PATH_MAX - n, "/%s", name) < (size_t)(PATH_MAX - n);
}

/* A kernel setting's store() changes the value at write(), not at open(): a file of the testbed
 * opened with O_TRUNC would be empty between the two, which no kernel shows (and a kill there would
 * leave it so). The open leaves it alone, the write replaces it (write_setting()). */
typedef int (*openat_fn)(int dirfd, const char *path, int flags, ...);

int openat(int dirfd, const char *name, int flags, ...)
{
        static openat_fn real;
        char path[PATH_MAX];
        mode_t mode = 0;

        REAL_OR_ENOSYS(real, openat_fn, "openat64"); /* the same as openat on a 64-bit libc */
        if (flags & (O_CREAT | __O_TMPFILE)) {
                va_list ap;

                va_start(ap, flags);
                mode = va_arg(ap, mode_t);
                va_end(ap);
        }
        if ((flags & O_TRUNC) && (flags & O_ACCMODE) == O_WRONLY && path_at(dirfd, name, path) &&
            is_setting(path))
                flags &= ~O_TRUNC;
        return real(dirfd, name, flags, mode);
}

/* What the daemon calls, built with _FILE_OFFSET_BITS=64. */
int openat64(int dirfd, const char *name, int flags, ...) __attribute__((alias("openat")));

/* The value of a setting, replaced whole at once as the kernel's store() does, even for a process
 * killed in the middle: written next to it and renamed over it (the fd stays on the old file). */
static ssize_t write_setting(const char *path, const void *buf, size_t count)
{
        char tmp[PATH_MAX];
        ssize_t n;
        int fd;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new-value", path) >= sizeof(tmp)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        fd = raw_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
                return -1;
        n = raw_write(fd, buf, count);
        raw_close(fd);
        if (n >= 0 && syscall(SYS_renameat, AT_FDCWD, tmp, AT_FDCWD, path) < 0)
                n = -1;
        return n;
}

typedef int (*rename_fn)(const char *from, const char *to);
typedef int (*unlink_fn)(const char *path);
typedef int (*unlinkat_fn)(int dirfd, const char *path, int flags);

int rename(const char *from, const char *to)
{
        static rename_fn real;

        REAL_OR_ENOSYS(real, rename_fn, "rename");
        if (under_step_dir(to))
                step("rename", to);
        return real(from, to);
}

int unlink(const char *path)
{
        static unlink_fn real;

        REAL_OR_ENOSYS(real, unlink_fn, "unlink");
        if (under_step_dir(path))
                step("unlink", path);
        return real(path);
}

int unlinkat(int dirfd, const char *name, int flags)
{
        static unlinkat_fn real;
        char path[PATH_MAX];

        REAL_OR_ENOSYS(real, unlinkat_fn, "unlinkat");
        if (path_at(dirfd, name, path) && under_step_dir(path))
                step("unlink", path);
        return real(dirfd, name, flags);
}

ssize_t write(int fd, const void *buf, size_t count)
{
        write_fn real = real_write_get();
        char link[64], path[PATH_MAX];
        long stall_ms = 0;
        int e, hold_result = 0;
        ssize_t n;

        if (!real) {
                errno = ENOSYS;
                return -1;
        }
        if (fd < 0)
                return real(fd, buf, count);

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = syscall(SYS_readlinkat, AT_FDCWD, link, path, sizeof(path) - 1);
        if (n <= 0)
                return real(fd, buf, count);
        path[n] = '\0';

        if (strncmp(path, "/sys/", 5) == 0) {
                static const char msg[] = "fault-preload: refusing a write to the real /sys, aborting\n";

                (void)raw_write(STDERR_FILENO, msg, sizeof(msg) - 1);
                (void)raw_write(STDERR_FILENO, path, (size_t)n);
                (void)raw_write(STDERR_FILENO, "\n", 1);
                abort();
        }
        if (under_step_dir(path) || is_setting(path))
                step("write", path);

        if (ends_with(path, "/auto_online_blocks") || ends_with(path, "/memmap_on_memory")) {
                /* An errno or a short write from the fault file; the value stays as it was. */
                e = faults_enabled() ? fault_take(path, &stall_ms, &hold_result) : 0;
                if (e > 0 || e == FAULT_SHORT) {
                        log_write(path, buf, count, fault_word(e));
                        if (e == FAULT_SHORT)
                                return (ssize_t)(count / 2);
                        errno = e;
                        return -1;
                }
                n = is_setting(path) ? write_setting(path, buf, count) : real(fd, buf, count);
                log_write(path, buf, count, n < 0 ? strerror(errno) : "ok");
                return n;
        }
        if (is_setting(path))
                return write_setting(path, buf, count);
        if (strstr(path, "/bus/dax/drivers/") || is_dax_state(path)) {
                long long ns;

                n = real(fd, buf, count);
                ns = log_write(path, buf, count, n < 0 ? strerror(errno) : "ok");
                if (n >= 0 && (e = dax_wait_ack(ns)) != 0) {
                        errno = e;
                        return -1;
                }
                return n;
        }
        if (!ends_with(path, "/state"))
                return real(fd, buf, count);

        e = faults_enabled() ? fault_take(path, &stall_ms, &hold_result) : 0;
        if (e == FAULT_HOLD || e == FAULT_LATE) {
                (void)real(fd, "going-offline\n", 14);
                hold_write(path, e == FAULT_LATE);
                (void)lseek(fd, 0, SEEK_SET);
                (void)syscall(SYS_ftruncate, fd, 0);
                e = hold_result;
        }
        if (e == 0 && kernel_sync() && count >= 6 && strncmp(buf, "online", 6) == 0) {
                n = real(fd, "online\n", 7);
                log_write(path, buf, count, n < 0 ? strerror(errno) : "ok");
                return n < 0 ? n : (ssize_t)count;
        }
        if (e == 0) {
                n = real(fd, buf, count);
                log_write(path, buf, count, n < 0 ? strerror(errno) : "ok");
                return n;
        }

        if (stall_ms > 0) {
                struct timespec ts = { stall_ms / 1000, (stall_ms % 1000) * 1000000L };

                /* What the kernel shows while it retries; then the answer it gives up with. */
                (void)real(fd, "going-offline\n", 14);
                if (syscall(SYS_nanosleep, &ts, NULL) < 0 && errno == EINTR)
                        e = EINTR;
                (void)lseek(fd, 0, SEEK_SET);
                (void)syscall(SYS_ftruncate, fd, 0);
        }

        /* The daemon opened with O_TRUNC, which emptied the file: put back what the kernel would
         * show after this answer (a refused offline leaves the block online). */
        if (e == FAULT_RACE || (count >= 7 && strncmp(buf, "offline", 7) == 0))
                (void)real(fd, "online\n", 7);
        else
                (void)real(fd, "offline\n", 8);
        log_write(path, buf, count, fault_word(e));
        if (e == FAULT_SHORT)
                return (ssize_t)(count / 2);
        errno = e == FAULT_RACE ? EINVAL : e;
        return -1;
}

typedef ssize_t (*recvmsg_fn)(int fd, struct msghdr *msg, int flags);

/* Consumes "$MHP_WRITE_LOG.overflow": returns how many uevents to drop, or -1 for no overflow. */
static bool overflow_path(char path[static PATH_MAX])
{
        const char *log = getenv("MHP_WRITE_LOG");

        return log && *log && (size_t)snprintf(path, PATH_MAX, "%s.overflow", log) < PATH_MAX;
}

static long overflow_take(void)
{
        char path[PATH_MAX], buf[32];
        ssize_t n;
        int fd;

        if (!overflow_path(path))
                return -1;
        fd = raw_open(path, O_RDONLY, 0);
        if (fd < 0)
                return -1;
        n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
        raw_close(fd);
        (void)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
        buf[n > 0 ? n : 0] = '\0';
        return strtol(buf, NULL, 10);
}

/* Arms the overflow again, for the next recvmsg(). */
static void overflow_put(long drop)
{
        char path[PATH_MAX], buf[32];
        int fd, len;

        if (!overflow_path(path))
                return;
        len = snprintf(buf, sizeof(buf), "%ld\n", drop);
        fd = raw_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
                (void)raw_write(fd, buf, (size_t)len);
                raw_close(fd);
        }
}

static bool is_datagram_socket(int fd)
{
        int type = 0;
        socklen_t len = sizeof(type);

        return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
        static recvmsg_fn real;
        char scratch[8192], count[32];
        long drop, dropped = 0;
        ssize_t n;

        if (!real)
                real = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
        if (!real) {
                errno = ENOSYS;
                return -1;
        }
        /* Only the daemon's socket overflows: the preload is in the test's own process too. */
        if (!faults_enabled() || strcmp(program_invocation_short_name, "memhotplugd") != 0 ||
            !is_datagram_socket(fd) || (drop = overflow_take()) < 0)
                return real(fd, msg, flags);

        /* The first uevent that arrives once armed is lost, with the ones queued behind it. A call
         * that finds nothing (the daemon drains its socket until EAGAIN) leaves the overflow armed:
         * an overflow of nothing would test nothing. */
        n = real(fd, msg, flags);
        if (n < 0) {
                overflow_put(drop);
                return n;
        }
        for (dropped = 1; dropped < drop; dropped++) {
                /* umockdev's recvmsg() fills in a netlink sender address and credentials: it needs
                 * the room for both. */
                char control[CMSG_SPACE(sizeof(struct ucred))];
                struct sockaddr_storage sender;
                struct iovec iov = { scratch, sizeof(scratch) };
                struct msghdr m = { .msg_name = &sender,
                                    .msg_namelen = sizeof(sender),
                                    .msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = control,
                                    .msg_controllen = sizeof(control) };

                if (real(fd, &m, MSG_DONTWAIT) < 0)
                        break;
        }
        snprintf(count, sizeof(count), "%ld", dropped);
        (void)log_write("uevent:overflow", count, strlen(count), "ENOBUFS");
        errno = ENOBUFS;
        return -1;
}

typedef ssize_t (*sendmsg_fn)(int fd, const struct msghdr *msg, int flags);

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
        static sendmsg_fn real;
        const char *pace = getenv("MHP_PACE_SENDMSG");
        ssize_t n;

        if (!real)
                real = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
        if (!real) {
                errno = ENOSYS;
                return -1;
        }
        n = real(fd, msg, flags);
        if (!pace || strcmp(pace, "1") != 0)
                return n;
        /* The listener's queue is full: wait until it reads (poll says when a datagram fits). */
        for (int i = 0; i < 300 && n < 0 && errno == EAGAIN; i++) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };

                (void)poll(&p, 1, 100);
                n = real(fd, msg, flags);
        }
        /* A listener that went away (a daemon a test stopped, its socket file still there): the
         * kernel's broadcast does not fail for one, and umockdev would abort the whole test. */
        if (n < 0 && errno == ECONNREFUSED) {
                size_t len = 0;

                for (size_t i = 0; i < msg->msg_iovlen; i++)
                        len += msg->msg_iov[i].iov_len;
                return (ssize_t)len;
        }
        return n;
}

/* libkmod, as libdaxctl and libcxl call it: nothing is loaded into the machine's kernel. */
struct kmod_module;
struct kmod_list;

/* libkmod's own prototypes (no libkmod-dev needed to build the shim). */
int kmod_module_probe_insert_module(
        struct kmod_module *mod, unsigned int flags, const char *extra_options,
        int (*run_install)(struct kmod_module *m, const char *cmdline, void *data), const void *data,
        void (*print_action)(struct kmod_module *m, bool install, const char *options));
int kmod_module_insert_module(struct kmod_module *mod, unsigned int flags, const char *options);

static void log_kmod(struct kmod_module *mod)
{
        /* The daemon dlopen()s libdaxctl without RTLD_GLOBAL: look libkmod up by its handle. */
        void *kmod = dlopen("libkmod.so.2", RTLD_LAZY | RTLD_NOLOAD);
        const char *(*get_name)(const struct kmod_module *) =
                kmod ? (const char *(*)(const struct kmod_module *))dlsym(kmod, "kmod_module_get_name")
                     : NULL;
        const char *name = mod && get_name ? get_name(mod) : NULL;

        if (kmod)
                dlclose(kmod);

        (void)log_write("kmod:insert", name ? name : "?", name ? strlen(name) : 1, "ok");
}

int kmod_module_probe_insert_module(
        struct kmod_module *mod, unsigned int flags, const char *extra_options,
        int (*run_install)(struct kmod_module *m, const char *cmdline, void *data), const void *data,
        void (*print_action)(struct kmod_module *m, bool install, const char *options))
{
        log_kmod(mod);
        return 0;
}

int kmod_module_insert_module(struct kmod_module *mod, unsigned int flags, const char *options)
{
        log_kmod(mod);
        return 0;
}

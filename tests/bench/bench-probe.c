/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-probe: the guest side of tests/bench/bench-hotplug.py. Static, no dependencies, so it
 * costs the guest nothing but one recv() per uevent.
 *
 *   bench-probe uevents COUNT TIMEOUT_SEC ARMED_FILE OUT_FILE
 *       Listens on the kernel's uevent netlink group (what udevd and memhotplugd with
 *       UeventSource=kernel read), touches ARMED_FILE once it is bound, then stamps every
 *       uevent with CLOCK_MONOTONIC as it arrives. Stops when COUNT memory blocks have sent
 *       "online" (or at the timeout) and writes OUT_FILE (may be a FIFO): summary lines
 *       "key value" and then one line per memory uevent, "E usec action block seqnum".
 *       t0 is the first uevent of any subsystem after arming: for an ACPI DIMM that is the
 *       acpi PNP0C80 device "add", the guest's first reaction to the QMP device_add.
 *
 *   bench-probe writer READY_FILE
 *       The least a userspace onliner can do: on each memory "add" uevent, write online_movable
 *       to that block's state at once (no reads, no policy, no log). Runs until killed. A
 *       reference point between the kernel's own auto-online and a real daemon.
 *
 *   bench-probe notify SOCKET_PATH TIMEOUT_SEC
 *       Binds a NOTIFY_SOCKET and exits 0 when a datagram with READY=1 arrives, so the harness
 *       knows memhotplugd listens without raising its log level.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 65536

struct event {
        uint64_t usec;
        char action[12];
        unsigned block;
        unsigned long long seqnum;
};

static struct event events[MAX_EVENTS];

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *field(const char *buf, size_t len, const char *key)
{
        size_t klen = strlen(key);

        for (size_t i = 0; i < len;) {
                const char *s = buf + i;
                size_t l = strnlen(s, len - i);

                if (l > klen && memcmp(s, key, klen) == 0 && s[klen] == '=')
                        return s + klen + 1;
                i += l + 1;
        }
        return NULL;
}

/* A stamp is only as good as the wakeup behind it: as a real-time task the probe is woken on an
 * idle CPU (or preempts at the next cond_resched()) instead of queueing behind the kworker or
 * the process doing the onlining, which would bunch every stamp at the end. */
static void go_realtime(void)
{
        struct sched_param p = { .sched_priority = 50 };

        if (sched_setscheduler(0, SCHED_FIFO, &p) < 0)
                perror("bench-probe: SCHED_FIFO, stamps may lag");
        (void)mlockall(MCL_CURRENT | MCL_FUTURE);
}

static int cmd_uevents(unsigned count, int timeout_sec, const char *armed, const char *out)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
        int bufsize = 64 * 1024 * 1024;
        uint64_t deadline, t0 = 0, first_add = 0, last_add = 0, first_online = 0, last_online = 0;
        unsigned n_add = 0, n_online = 0, n_events = 0, n_other = 0;
        static char buf[16384];
        FILE *f;
        int fd;

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("bench-probe: netlink");
                return 1;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
        go_realtime();
        f = fopen(armed, "w");
        if (f)
                fclose(f);

        deadline = now_usec() + (uint64_t)timeout_sec * 1000000u;
        while (n_online < count) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t t = now_usec();
                const char *subsystem, *action, *devpath, *seq;
                ssize_t len;
                int r;

                if (t >= deadline)
                        break;
                r = poll(&p, 1, (int)((deadline - t) / 1000 + 1));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        continue;
                len = recv(fd, buf, sizeof(buf) - 1, 0);
                t = now_usec();
                if (len < 0) {
                        if (errno == ENOBUFS)
                                fprintf(stderr, "bench-probe: ENOBUFS, events lost\n");
                        continue;
                }
                buf[len] = 0;
                if (!t0)
                        t0 = t;
                subsystem = field(buf, len, "SUBSYSTEM");
                action = field(buf, len, "ACTION");
                devpath = field(buf, len, "DEVPATH");
                seq = field(buf, len, "SEQNUM");
                if (!subsystem || strcmp(subsystem, "memory") != 0 || !action || !devpath) {
                        n_other++;
                        continue;
                }
                const char *name = strrchr(devpath, '/');
                unsigned block;
                if (!name || sscanf(name, "/memory%u", &block) != 1)
                        continue;
                if (n_events < MAX_EVENTS) {
                        struct event *e = &events[n_events++];
                        e->usec = t;
                        snprintf(e->action, sizeof(e->action), "%s", action);
                        e->block = block;
                        e->seqnum = seq ? strtoull(seq, NULL, 10) : 0;
                }
                if (strcmp(action, "add") == 0) {
                        if (!first_add)
                                first_add = t;
                        last_add = t;
                        n_add++;
                } else if (strcmp(action, "online") == 0) {
                        if (!first_online)
                                first_online = t;
                        last_online = t;
                        n_online++;
                }
        }

        f = fopen(out, "w");
        if (!f) {
                perror("bench-probe: output");
                return 1;
        }
        fprintf(f, "complete %d\n", n_online >= count);
        fprintf(f, "adds %u\nonlines %u\nother %u\n", n_add, n_online, n_other);
        fprintf(f, "t0 %llu\n", (unsigned long long)t0);
#define REL(x) ((x) ? (long long)((x)-t0) : -1LL)
        fprintf(f, "first_add %lld\nlast_add %lld\nfirst_online %lld\nlast_online %lld\n", REL(first_add),
                REL(last_add), REL(first_online), REL(last_online));
        for (unsigned i = 0; i < n_events; i++)
                fprintf(f, "E %lld %s %u %llu\n", REL(events[i].usec), events[i].action, events[i].block,
                        events[i].seqnum);
        fclose(f);
        return n_online >= count ? 0 : 2;
}

static int cmd_writer(const char *ready)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
        int bufsize = 64 * 1024 * 1024;
        static char buf[16384];
        FILE *f;
        int fd;

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("bench-probe: netlink");
                return 1;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
        f = fopen(ready, "w");
        if (f)
                fclose(f);
        for (;;) {
                const char *subsystem, *action, *devpath;
                char path[256];
                ssize_t len;
                int sfd;

                len = recv(fd, buf, sizeof(buf) - 1, 0);
                if (len <= 0)
                        continue;
                buf[len] = 0;
                subsystem = field(buf, len, "SUBSYSTEM");
                action = field(buf, len, "ACTION");
                devpath = field(buf, len, "DEVPATH");
                if (!subsystem || strcmp(subsystem, "memory") != 0 || !action ||
                    strcmp(action, "add") != 0 || !devpath)
                        continue;
                snprintf(path, sizeof(path), "/sys%s/state", devpath);
                sfd = open(path, O_WRONLY | O_CLOEXEC);
                if (sfd < 0)
                        continue;
                if (write(sfd, "online_movable", 14) < 0)
                        perror("bench-probe: write state");
                close(sfd);
        }
}

static int cmd_notify(const char *path, int timeout_sec)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static char buf[4096];
        uint64_t deadline;
        int fd;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("bench-probe: notify socket");
                return 1;
        }
        deadline = now_usec() + (uint64_t)timeout_sec * 1000000u;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t t = now_usec();
                ssize_t len;

                if (t >= deadline) {
                        fprintf(stderr, "bench-probe: no READY=1 within %ds\n", timeout_sec);
                        return 1;
                }
                if (poll(&p, 1, (int)((deadline - t) / 1000 + 1)) <= 0)
                        continue;
                len = recv(fd, buf, sizeof(buf) - 1, 0);
                if (len <= 0)
                        continue;
                buf[len] = 0;
                for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
                        if (strcmp(line, "READY=1") == 0) {
                                unlink(path);
                                return 0;
                        }
        }
}

int main(int argc, char **argv)
{
        if (argc == 6 && strcmp(argv[1], "uevents") == 0)
                return cmd_uevents((unsigned)atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
        if (argc == 3 && strcmp(argv[1], "writer") == 0)
                return cmd_writer(argv[2]);
        if (argc == 4 && strcmp(argv[1], "notify") == 0)
                return cmd_notify(argv[2], atoi(argv[3]));
        fprintf(stderr, "usage: bench-probe uevents COUNT TIMEOUT_SEC ARMED_FILE OUT_FILE\n"
                        "       bench-probe writer READY_FILE\n"
                        "       bench-probe notify SOCKET_PATH TIMEOUT_SEC\n");
        return 2;
}

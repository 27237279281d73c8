/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <libudev.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event-util.h"
#include "macro.h"
#include "monitor.h"
#include "time-constants.h"
#include "uevent-parse.h"

/* Large enough for a burst of thousands of blocks (each add and online is a uevent); set with
 * SO_RCVBUFFORCE, so it is not capped by rmem_max when we run as root. */
#define MONITOR_RCVBUF (128 * 1024 * 1024)
/* The kernel's uevent buffer is 2048 bytes (UEVENT_BUFFER_SIZE); a longer message is not one. */
#define UEVENT_MAX 8192

/* Batching (KernelAutoOnline=delegate): the kernel onlines in its own hot-add path, so no uevent
 * is urgent for us, and a wakeup per uevent takes a guest's few vCPUs from that path (the hot-add
 * runs in one kworker, which our wakeups preempt). The socket is left unread while its queue
 * grows, and read once it held still for a tick, or BATCH_MAX_USEC after the first uevent. */

/* UeventSource=kernel reads the kernel's netlink group itself: a hot-add sends two uevents a
 * block, and libudev makes a device object of each (its properties into a hashmap, then freed),
 * several times the instructions of finding three keys in the message, all taken from the
 * kernel's add. UeventSource=udev goes through libudev, whose messages and filters are udevd's. */
struct Monitor {
        int fd;            /* the socket either way */
        struct udev *udev; /* UeventSource=udev */
        struct udev_monitor *monitor;
        sd_event_source *source;
        Timer *tick;
        bool batching;
        uint64_t batch_since;
        uint32_t batch_queued;
        monitor_event_fn on_event;
        monitor_overflow_fn on_overflow;
        void *userdata;
};

Monitor *monitor_free(Monitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        timer_free(m->tick);
        if (!m->monitor && m->fd >= 0)
                close(m->fd);
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        free(m);
        return NULL;
}

/* One message off the kernel's group: 1 and *ret filled, 0 for one that is not for us (a
 * subsystem we do not watch, not from the kernel, cut), -EAGAIN when none waits, or another
 * negative errno (-ENOBUFS: uevents were lost). */
static int receive_kernel(Monitor *m, char *buf, Uevent *ret)
{
        union {
                struct cmsghdr cmsg;
                uint8_t buf[CMSG_SPACE(sizeof(struct ucred))];
        } control = {};
        struct sockaddr_nl sender = {};
        struct iovec iov = { .iov_base = buf, .iov_len = UEVENT_MAX };
        struct msghdr msg = {
                .msg_name = &sender,
                .msg_namelen = sizeof(sender),
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c;
        struct ucred *cred = NULL;
        ssize_t n;

        n = recvmsg(m->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        /* Only the kernel (port 0, uid 0) speaks on its group; root processes could send there. */
        for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (struct ucred *)CMSG_DATA(c);
        if (!cred || cred->uid != 0 || sender.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
                return 0;
        buf[n] = '\0';
        if (uevent_parse(buf, (size_t)n, ret) < 0)
                return 0;
        return streq(ret->subsystem, "memory") || streq(ret->subsystem, "dax");
}

static void drain_kernel(Monitor *m)
{
        char buf[UEVENT_MAX + 1];
        Uevent u;
        int r;

        for (;;) {
                r = receive_kernel(m, buf, &u);
                if (r == -EAGAIN)
                        break;
                if (r < 0) {
                        m->on_overflow(m->userdata, -r);
                        if (r == -ENOBUFS)
                                continue;
                        break;
                }
                if (r > 0)
                        m->on_event(m->userdata, u.subsystem, u.action, u.sysname);
        }
}

void monitor_drain(Monitor *m)
{
        assert(m);

        if (!m->monitor) {
                drain_kernel(m);
                return;
        }
        /* One wakeup can carry many events. */
        for (;;) {
                struct udev_device *d;
                const char *subsystem, *action, *sysname;

                errno = 0;
                d = udev_monitor_receive_device(m->monitor);
                if (!d) {
                        /* libudev skips filtered messages itself and ends with EAGAIN. */
                        if (errno == ENOBUFS) {
                                m->on_overflow(m->userdata, ENOBUFS);
                                continue;
                        }
                        /* Any other error comes after the message was taken off the socket (a
                         * device that could not be allocated): that uevent is gone. */
                        if (errno != 0 && errno != EAGAIN && errno != EINTR)
                                m->on_overflow(m->userdata, errno);
                        break;
                }
                subsystem = udev_device_get_subsystem(d);
                action = udev_device_get_action(d);
                sysname = udev_device_get_sysname(d);
                if (subsystem && action && sysname)
                        m->on_event(m->userdata, subsystem, action, sysname);
                udev_device_unref(d);
        }
}

/* The bytes waiting in the socket's receive queue (SO_MEMINFO, Linux 4.12). */
static int queued_bytes(Monitor *m, uint32_t *ret)
{
        uint32_t mem[SK_MEMINFO_VARS] = {};
        socklen_t len = sizeof(mem);

        if (getsockopt(m->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
                return -errno;
        if (len <= SK_MEMINFO_RMEM_ALLOC * sizeof(uint32_t))
                return -EIO;
        *ret = mem[SK_MEMINFO_RMEM_ALLOC];
        return 0;
}

/* Ends a batch: what queued is handled, and the socket watched again. */
static void batch_end(Monitor *m)
{
        timer_disarm(m->tick);
        monitor_drain(m);
        (void)sd_event_source_set_enabled(m->source, SD_EVENT_ON);
}

static int on_tick(Timer *t, uint64_t usec, void *userdata)
{
        Monitor *m = userdata;
        uint32_t queued;

        /* Without SO_MEMINFO the queue is taken as quiet: read a tick after the first uevent. */
        if (queued_bytes(m, &queued) >= 0 && queued != m->batch_queued &&
            usec < m->batch_since + BATCH_MAX_USEC) {
                m->batch_queued = queued;
                return timer_arm_at(t, usec + BATCH_TICK_USEC);
        }
        batch_end(m);
        return 0;
}

static int batch_begin(Monitor *m)
{
        uint64_t now;
        int r;

        r = sd_event_now(sd_event_source_get_event(m->source), CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = timer_arm_at(m->tick, now + BATCH_TICK_USEC);
        if (r < 0)
                return r;
        m->batch_since = now;
        if (queued_bytes(m, &m->batch_queued) < 0)
                m->batch_queued = 0;
        return sd_event_source_set_enabled(m->source, SD_EVENT_OFF);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Monitor *m = userdata;

        if (!m->batching || !m->tick || batch_begin(m) < 0)
                monitor_drain(m);
        return 0;
}

void monitor_set_batching(Monitor *m, bool batching)
{
        if (!m || m->batching == batching)
                return;
        m->batching = batching;
        /* The timer is made here, not on the first uevent of a hot-add: that wakeup is to cost
         * the kernel's hot-add path as little as can be (and with 1 µs accuracy, sd-event does
         * not read the boot ID for a wakeup perturbation then). Without it, there is no batching. */
        if (batching && !m->tick)
                (void)timer_new(sd_event_source_get_event(m->source), "uevent-batch",
                                SD_EVENT_PRIORITY_NORMAL, on_tick, m, &m->tick);
        /* One batch now, with or without a uevent: the first wakeup of a hot-add runs inside the
         * kernel's add, and code that has never run in this process costs far more the first time
         * (its pages faulted in; under an emulator such as QEMU's TCG, translated: 6 ms of the
         * one host thread that also runs the add, against under 50 µs for the same instructions
         * later). This runs that path once while nothing waits: what comes meanwhile is read a
         * tick later, as in any batch. */
        if (batching && m->tick && !timer_armed(m->tick))
                (void)batch_begin(m);
        /* A batch under way ends now: what queued is handled at once from here on. */
        if (!batching && timer_armed(m->tick))
                batch_end(m);
}

bool monitor_batch_open(const Monitor *m)
{
        assert(m);

        return timer_armed(m->tick);
}

static int open_kernel(Monitor *m)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's */ };
        int one = 1, size = MONITOR_RCVBUF;

        m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (m->fd < 0)
                return -errno;
        /* Best effort: without it the default buffer overflows sooner and we rescan. */
        if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (setsockopt(m->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        return 0;
}

int monitor_new(sd_event *e, UeventSource source, monitor_event_fn on_event, monitor_overflow_fn on_overflow,
                void *userdata, Monitor **ret)
{
        _cleanup_(monitor_freep) Monitor *m = NULL;
        int r;

        assert(e);
        assert(ret);

        m = calloc(1, sizeof(Monitor));
        if (!m)
                return -ENOMEM;
        m->on_event = on_event;
        m->on_overflow = on_overflow;
        m->userdata = userdata;

        m->fd = -EBADF;
        if (source == UEVENT_SOURCE_KERNEL) {
                r = open_kernel(m);
                if (r < 0)
                        return r;
                r = sd_event_add_io(e, &m->source, m->fd, EPOLLIN, on_io, m);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(m);
                return 0;
        }

        m->udev = udev_new();
        if (!m->udev)
                return negative_errno();
        m->monitor = udev_monitor_new_from_netlink(m->udev, "udev");
        if (!m->monitor)
                return negative_errno();
        r = udev_monitor_filter_add_match_subsystem_devtype(m->monitor, "memory", NULL);
        if (r < 0)
                return r;
        r = udev_monitor_filter_add_match_subsystem_devtype(m->monitor, "dax", NULL);
        if (r < 0)
                return r;
        /* Best effort: without it the default buffer overflows sooner and we rescan. */
        (void)udev_monitor_set_receive_buffer_size(m->monitor, MONITOR_RCVBUF);
        r = udev_monitor_enable_receiving(m->monitor);
        if (r < 0)
                return r;

        m->fd = udev_monitor_get_fd(m->monitor);
        r = sd_event_add_io(e, &m->source, m->fd, EPOLLIN, on_io, m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <libudev.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "event-util.h"
#include "macro.h"
#include "monitor.h"
#include "time-constants.h"

/* Large enough for a burst of thousands of blocks (each add and online is a uevent); set with
 * SO_RCVBUFFORCE by libudev, so it is not capped by rmem_max when we run as root. */
#define MONITOR_RCVBUF (128 * 1024 * 1024)

/* Batching (KernelAutoOnline=delegate): the kernel onlines in its own hot-add path, so no uevent
 * is urgent for us, and a wakeup per uevent takes a guest's few vCPUs from that path (the hot-add
 * runs in one kworker, which our wakeups preempt). The socket is left unread while its queue
 * grows, and read once it held still for a tick, or BATCH_MAX_USEC after the first uevent. */

struct Monitor {
        struct udev *udev;
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
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        free(m);
        return NULL;
}

void monitor_drain(Monitor *m)
{
        assert(m);

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

        if (getsockopt(udev_monitor_get_fd(m->monitor), SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
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
        /* A batch under way ends now: what queued is handled at once from here on. */
        if (!batching && timer_armed(m->tick))
                batch_end(m);
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

        m->udev = udev_new();
        if (!m->udev)
                return negative_errno();
        m->monitor =
                udev_monitor_new_from_netlink(m->udev, source == UEVENT_SOURCE_KERNEL ? "kernel" : "udev");
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

        r = sd_event_add_io(e, &m->source, udev_monitor_get_fd(m->monitor), EPOLLIN, on_io, m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

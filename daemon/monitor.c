/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libudev.h>
#include <stdlib.h>

#include "macro.h"
#include "monitor.h"

/* Large enough for a burst of thousands of blocks (each add and online is a uevent); set with
 * SO_RCVBUFFORCE by libudev, so it is not capped by rmem_max when we run as root. */
#define MONITOR_RCVBUF (128 * 1024 * 1024)

struct Monitor {
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *source;
        monitor_event_fn on_event;
        monitor_overflow_fn on_overflow;
        void *userdata;
};

Monitor *monitor_free(Monitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        free(m);
        return NULL;
}

void monitor_drain(Monitor *m)
{
        /* One wakeup can carry many events. */
        for (;;) {
                struct udev_device *d;
                const char *subsystem, *action, *sysname;

                errno = 0;
                d = udev_monitor_receive_device(m->monitor);
                if (!d) {
                        /* libudev skips filtered messages itself and ends with EAGAIN. */
                        if (errno != ENOBUFS)
                                break;
                        m->on_overflow(m->userdata);
                        continue;
                }
                subsystem = udev_device_get_subsystem(d);
                action = udev_device_get_action(d);
                sysname = udev_device_get_sysname(d);
                if (subsystem && action && sysname)
                        m->on_event(m->userdata, subsystem, action, sysname);
                udev_device_unref(d);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        monitor_drain(userdata);
        return 0;
}

int monitor_new(sd_event *e, UeventSource source, monitor_event_fn on_event, monitor_overflow_fn on_overflow,
                void *userdata, Monitor **ret)
{
        _cleanup_(monitor_freep) Monitor *m = NULL;
        int r;

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

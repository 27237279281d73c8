/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"

/* A uevent monitor on the memory and dax subsystems, on the kernel's netlink group or udevd's. */
typedef struct Monitor Monitor;

/* action is the uevent's ACTION ("add", "online", …), sysname the device's ("memory42"). */
typedef void (*monitor_event_fn)(void *userdata, const char *subsystem, const char *action,
                                 const char *sysname);
/* Events were lost: the socket overflowed (ENOBUFS), or one was read but could not be made into a
 * device (ENOMEM in libudev): the receiver must rescan sysfs. */
typedef void (*monitor_overflow_fn)(void *userdata, int error);

int monitor_new(sd_event *e, UeventSource source, monitor_event_fn on_event, monitor_overflow_fn on_overflow,
                void *userdata, Monitor **ret);
Monitor *monitor_free(Monitor *m);
/* With batching, uevents are left queued while more keep coming, and handled together once the
 * queue holds still: for when none of them is urgent (the kernel onlines memory itself). */
void monitor_set_batching(Monitor *m, bool batching);
/* Whether a batch is under way: the socket is left unread until the batch's tick. */
bool monitor_batch_open(const Monitor *m);
/* Handles every event queued on the socket now, without waiting for the event loop. */
void monitor_drain(Monitor *m);
static inline void monitor_freep(Monitor **m)
{
        monitor_free(*m);
}

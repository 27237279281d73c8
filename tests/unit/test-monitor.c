/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The uevent monitor's batching (KernelAutoOnline=delegate): it runs one batch as soon as it is
 * switched on, with no uevent, so that the first wakeup of a hot-add, which runs inside the
 * kernel's add, is not the first run of that code; and that batch ends by itself. The kernel's
 * netlink group is only listened to: nothing here makes a uevent. */
#include <errno.h>

#include "macro.h"
#include "monitor.h"
#include "tap.h"
#include "time-util.h"

static unsigned n_events, n_overflows;

static void on_event(void *userdata, const char *subsystem, const char *action, const char *sysname)
{
        n_events++;
}

static void on_overflow(void *userdata, int error)
{
        n_overflows++;
}

/* Runs the loop until the batch under way ended; false if it did not within the cap (far past
 * the batch's own 2 s limit, so a loaded machine cannot make this fail). */
static bool run_until_batch_ends(sd_event *e, Monitor *m)
{
        for (unsigned i = 0; i < 600 && monitor_batch_open(m); i++)
                if (sd_event_run(e, 100 * USEC_PER_MSEC) < 0)
                        return false;
        return !monitor_batch_open(m);
}

int main(void)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(monitor_freep) Monitor *m = NULL;
        int r;

        if (sd_event_new(&e) < 0)
                return 1;
        r = monitor_new(e, UEVENT_SOURCE_KERNEL, on_event, on_overflow, NULL, &m);
        if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT) {
                printf("1..0 # SKIP no kernel uevent socket here: %s\n", strerror(-r));
                return 0;
        }
        tap_is_int(r, 0, "a monitor on the kernel's uevent group");
        if (r < 0)
                return tap_done();

        tap_ok(!monitor_batch_open(m), "no batch without batching");

        monitor_set_batching(m, true);
        tap_ok(monitor_batch_open(m), "switched on, it runs a batch at once, with no uevent");
        tap_ok(run_until_batch_ends(e, m), "that batch ends by itself (the queue held still)");
        tap_is_int(n_overflows, 0, "nothing lost meanwhile");

        monitor_set_batching(m, true);
        tap_ok(!monitor_batch_open(m), "switched on again while on: no second batch");

        monitor_set_batching(m, false);
        tap_ok(!monitor_batch_open(m), "switched off: none");
        monitor_set_batching(m, true);
        tap_ok(monitor_batch_open(m), "on again (a reload back to delegate): a batch again");
        monitor_set_batching(m, false);
        tap_ok(!monitor_batch_open(m), "switched off during a batch: it ends at once");

        return tap_done();
}

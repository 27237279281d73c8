/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>

#include "dax-convert.h"
#include "device-log.h"
#include "devices-internal.h"
#include "log.h"
#include "message-ids.h"
#include "intake.h"

/* Converting a device to system-ram as its rule says, and back to devdax on request. */

/* ", state online_movable" where the device has daxX.Y/state (Linux 7.3, kmem-bound). */
static const char *hotplug_note(const Device *d)
{
        return d->dax->hotplug != DAX_HOTPLUG_NONE ? ", state " : "";
}

static const char *hotplug_word(const Device *d)
{
        return d->dax->hotplug != DAX_HOTPLUG_NONE ? dax_hotplug_to_string(d->dax->hotplug) : "";
}

static int device_convert(Manager *m, Device *d)
{
        int r;

        if (!m->devices->dax_possible)
                return log_device(LOG_WARNING, 0, NULL, d,
                                  "Not converting: libdaxctl works on /sys only, and the sysfs root is %s",
                                  sysfs_root(m->sysfs));

        if (d->decision.write_memmap) {
                r = dax_write_memmap(m->sysfs, d->dax->name, d->decision.memmap_value);
                if (r < 0 && d->decision.memmap == MEMMAP_YES)
                        return log_device(LOG_ERR, r, NULL, d,
                                          "Not converting: MemmapOnMemory=yes, but writing memmap_on_memory "
                                          "failed: %m");
                if (r < 0)
                        log_device(
                                LOG_WARNING, r, NULL, d,
                                "Writing memmap_on_memory=%d failed, converting with the memmap in system "
                                "RAM: %m",
                                d->decision.memmap_value);
        }

        r = dax_convert_to_ram(d->dax->name);
        if (r == -EOPNOTSUPP)
                return log_device(LOG_ERR, r, NULL, d, "Failed to convert: libdaxctl.so.1 is not installed");
        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Converting to system-ram failed: %m");

        device_refresh(m, d);
        log_device(LOG_INFO, 0, MHP_MESSAGE_DEVICE_CONVERTED, d,
                   "Converted to system-ram, %" PRIu64 " MiB%s%s: %s", d->dax->size >> 20, hotplug_note(d),
                   hotplug_word(d), d->decision.reason);
        device_hotplug_test_stop("bind");
        /* Linux 7.3: kmem added the blocks offline (takeover); one write of the zone onlines them. */
        (void)device_hotplug_online(m, d);
        return 0;
}

void device_refresh(Manager *m, Device *d)
{
        DaxDevice *x;

        assert(m);
        assert(d);

        if (device_read(m, d->dax->name, &x) >= 0) {
                dax_device_free(d->dax);
                d->dax = x;
        }
        manager_mark_dirty(m, DIRTY_DEVICES);
}

/* The device's record after its driver changed under us, and what the policy says now. */
static void device_reread(Manager *m, Device *d)
{
        device_refresh(m, d);
        device_decide(m, d);
}

/* Linux 7.3: the blocks go with one `unplugged` before kmem is unbound, which never offlines and
 * leaks a range with a block online until reboot. All or nothing: on failure nothing changed. */
static int revert_unplug(Manager *m, Device *d)
{
        if (d->dax->hotplug == DAX_HOTPLUG_NONE)
                return 0;
        return device_hotplug_unplug(m, d);
}

/* Bound to kmem before the daemon could say (the kernel's default for CXL regions), but the rule
 * keeps it devdax. Only while none of its blocks is online: onlined memory may be in use, and
 * taking it back is for a person to ask (memhotplugctl offline, then revert). */
static int device_revert_by_rule(Manager *m, Device *d)
{
        _cleanup_(freep) char *reason = NULL;
        unsigned online, total;
        int r;

        devices_count_blocks(m, d, &online, &total);
        if (online > 0)
                return log_device(LOG_WARNING, 0, NULL, d,
                                  "%s, but %u of its %u blocks are online; left as system-ram "
                                  "(memhotplugctl offline, then revert)",
                                  d->decision.rule, online, total);
        if (!m->devices->dax_possible)
                return log_device(
                        LOG_WARNING, 0, NULL, d,
                        "Not returning to devdax: libdaxctl works on /sys only, and the sysfs root "
                        "is %s",
                        sysfs_root(m->sysfs));
        reason = strdup(d->decision.reason);
        r = revert_unplug(m, d);
        if (r >= 0)
                r = dax_convert_to_devdax(d->dax->name);
        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Returning to devdax failed: %m");
        device_reread(m, d);
        log_device(LOG_INFO, 0, MHP_MESSAGE_DEVICE_CONVERTED, d,
                   "Returned to devdax before any block was onlined: %s", strna(reason));
        return 0;
}

/* Bound to kmem with the memmap where the rule does not want it: bind kmem again with the right
 * memmap_on_memory, while every block is still offline (the blocks come back as new ones). */
static int device_rebind(Manager *m, Device *d)
{
        _cleanup_(freep) char *reason = NULL;
        bool memmap = d->decision.memmap_value;
        unsigned online, total;
        int r;

        devices_count_blocks(m, d, &online, &total);
        r = online > 0 ? -EBUSY : !m->devices->dax_possible ? -EOPNOTSUPP : 0;
        reason = strdup(d->decision.reason);
        if (r == 0)
                r = revert_unplug(m, d);
        if (r == 0)
                r = dax_rebind_ram(m->sysfs, d->dax->name, memmap);
        if (r < 0) {
                d->rebind_failed = true;
                device_reread(m, d);
                log_device(LOG_WARNING, r, NULL, d, "%s: cannot bind kmem again%s: %m; %s", strna(reason),
                           online > 0 ? " (blocks are online)" : "", d->decision.reason);
                /* Linux 7.3: an `unplugged` that went through left no block: the zone brings them
                 * back with the memmap they had. */
                (void)device_hotplug_online(m, d);
                /* Its offline blocks waited for the rebind: they follow Online= now. */
                device_reconsider_blocks(m, d);
                return r;
        }
        device_reread(m, d);
        log_device(LOG_INFO, 0, MHP_MESSAGE_DEVICE_CONVERTED, d, "Bound to kmem again, memmap %s: %s",
                   memmap ? "on the device" : "in system RAM", strna(reason));
        (void)device_hotplug_online(m, d);
        return 0;
}

int device_act(Manager *m, Device *d)
{
        assert(m);
        assert(d);

        if (d->user_devdax && d->dax->driver != DAX_DRIVER_KMEM) {
                log_device(LOG_DEBUG, 0, NULL, d, "Returned to devdax on request, leaving it");
                return 0;
        }
        /* Found kmem-bound (a restart, or killed between the writes): the file may still have to
         * reach the rule's zone (devices-hotplug.c). */
        if (d->decision.action == DAX_ACTION_NONE && d->dax->driver == DAX_DRIVER_KMEM &&
            device_hotplug_online(m, d) > 0)
                return 0;
        switch (d->decision.action) {
        case DAX_ACTION_CONVERT:
                return device_convert(m, d);
        case DAX_ACTION_REVERT:
                return device_revert_by_rule(m, d);
        case DAX_ACTION_REBIND:
                return device_rebind(m, d);
        case DAX_ACTION_REFUSE:
                return log_device(LOG_WARNING, 0, NULL, d, "Left as it is: %s", d->decision.reason);
        case DAX_ACTION_NONE:
        case DAX_ACTION_LEAVE:
        case DAX_ACTION_IGNORE:
        default:
                log_device(LOG_INFO, 0, NULL, d, "%s%s%s: %s", dax_driver_to_string(d->dax->driver),
                           hotplug_note(d), hotplug_word(d), d->decision.reason);
                return 0;
        }
}

int devices_revert(Manager *m, Device *d)
{
        unsigned online, total;
        int r;

        assert(m);
        assert(d);

        if (!m->devices->dax_possible)
                return -EOPNOTSUPP;
        devices_count_blocks(m, d, &online, &total);
        if (online > 0 || intake_device_writing(m->intake, d->dax->name))
                return -EBUSY; /* a write of its state on the offline thread: not under it */
        /* The blocks were offlined first, on the offline thread (its timeout, CancelJob): an
         * `unplugged` of online memory would migrate it here, in the loop, for as long as the
         * kernel retries. Of offline blocks it only removes them, before kmem is let go. */
        r = revert_unplug(m, d);
        if (r < 0)
                return log_device(LOG_WARNING, r, NULL, d, "Writing unplugged to %s/state failed: %m",
                                  d->dax->name);
        r = dax_convert_to_devdax(d->dax->name);
        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Returning to devdax failed: %m");
        device_unplugged_forget(m, d);
        d->user_devdax = true;
        d->zone = 0;
        device_reread(m, d);
        log_device(LOG_INFO, 0, NULL, d, "Returned to devdax on request; the policy leaves it so");
        manager_mark_dirty(m, DIRTY_DEVICES);
        return 0;
}

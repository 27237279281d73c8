/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>

#include "dax.h"
#include "device-log.h"
#include "devices-internal.h"
#include "intake.h"
#include "log.h"
#include "message-ids.h"

/* The whole-device hotplug state of a kmem-bound device (daxX.Y/state, Linux 7.3) against its blocks.
 * The kernel records there the last whole-device transition it made and does not follow block writes
 * (docs/KERNELS.md), so a device whose blocks someone wrote one by one disagrees with its file. That is
 * reported once, with the writes that would make them agree, and never fought: the way back through
 * the file takes the memory away first, which is for a person to decide.
 *
 * A device is touched when its record or one of its blocks changes; the file is read and judged once
 * the daemon is idle (the outcome stage calls devices_hotplug_refresh() with no job under way), so a
 * burst or a chunk of a device's blocks costs one read, not one per block. */

void devices_hotplug_touch(Manager *m, Device *d)
{
        assert(m);
        assert(d);

        d->hotplug_stale = true;
        manager_devices_touched(m);
}

void devices_hotplug_touch_all(Manager *m)
{
        assert(m);

        if (!m->devices)
                return; /* a Manager without a device table (unit tests) */
        for (size_t i = 0; i < m->devices->n; i++)
                m->devices->list[i].hotplug_stale = true;
        if (m->devices->n > 0)
                manager_devices_touched(m);
}

bool devices_hotplug_touch_block(Manager *m, unsigned index)
{
        Device *d;

        assert(m);

        if (!m->devices || m->devices->n == 0)
                return false;
        d = devices_owner_of_block(m, index);
        if (!d)
                return false;
        devices_hotplug_touch(m, d);
        return true;
}

bool devices_hotplug_stale(const Manager *m)
{
        assert(m);

        for (size_t i = 0; m->devices && i < m->devices->n; i++)
                if (m->devices->list[i].hotplug_stale)
                        return true;
        return false;
}

static DaxDisagreement disagreement(DaxHotplug h, const DaxBlockTally *t)
{
        switch (h) {
        case DAX_HOTPLUG_UNPLUGGED:
                return t->present > 0 ? DAX_DISAGREE_PRESENT : DAX_DISAGREE_NONE;
        case DAX_HOTPLUG_OFFLINE:
                return t->online > 0 ? DAX_DISAGREE_ONLINE : DAX_DISAGREE_NONE;
        case DAX_HOTPLUG_ONLINE:
                return t->online < t->present ? DAX_DISAGREE_OFFLINE : DAX_DISAGREE_NONE;
        case DAX_HOTPLUG_ONLINE_KERNEL:
                return t->online < t->present   ? DAX_DISAGREE_OFFLINE
                       : t->normal < t->present ? DAX_DISAGREE_ZONE
                                                : DAX_DISAGREE_NONE;
        case DAX_HOTPLUG_ONLINE_MOVABLE:
                return t->online < t->present    ? DAX_DISAGREE_OFFLINE
                       : t->movable < t->present ? DAX_DISAGREE_ZONE
                                                 : DAX_DISAGREE_NONE;
        default:
                return DAX_DISAGREE_NONE;
        }
}

/* The daemon is still at work on it, or has not seen its blocks yet: what the blocks are now says
 * nothing yet. (Blocks still waiting in intake for their node link are not in the tally: the ones
 * seen are judged, which cannot make a device disagree that does not.) */
static bool device_busy(Manager *m, const Device *d, DaxHotplug h, const DaxBlockTally *t)
{
        _cleanup_(freep) unsigned *l = NULL;
        size_t n;

        if (d->pending || intake_device_writing(m->intake, d->dax->name))
                return true; /* devices_hotplug_written() touches it when the write is over */
        if (h != DAX_HOTPLUG_NONE && h != DAX_HOTPLUG_UNPLUGGED && t->present == 0)
                return true;
        if (devices_blocks(m, d, &l, &n) < 0)
                return true; /* out of memory: judged at the next touch */
        for (size_t i = 0; i < n; i++)
                if (m->blocks[l[i]].life == BLOCK_LIFE_QUEUED)
                        return true;
        return false;
}

/* Whether the block is one that makes the device disagree in this way. */
static bool block_differs(const Block *b, DaxDisagreement k, DaxHotplug h)
{
        switch (k) {
        case DAX_DISAGREE_PRESENT:
                return true;
        case DAX_DISAGREE_ONLINE:
                return b->state == BLOCK_ONLINE;
        case DAX_DISAGREE_OFFLINE:
                return b->state != BLOCK_ONLINE;
        case DAX_DISAGREE_ZONE:
                return b->state == BLOCK_ONLINE &&
                       (h == DAX_HOTPLUG_ONLINE_MOVABLE ? b->zone != ZONE_MOVABLE
                                                        : !(b->zone & ZONES_KERNEL));
        default:
                return false;
        }
}

/* "memory40, memory41, memory42 and 5 more": the blocks the commands are for. */
static void name_blocks(Manager *m, const Device *d, DaxDisagreement k, char *buf, size_t size)
{
        _cleanup_(freep) unsigned *l = NULL;
        size_t n, named = 0, more = 0, at = 0;

        buf[0] = '\0';
        if (devices_blocks(m, d, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                if (!block_differs(&m->blocks[l[i]], k, d->dax->hotplug))
                        continue;
                if (named == 3) {
                        more++;
                        continue;
                }
                at += snprintf(buf + at, size - at, "%smemory%u", named > 0 ? ", " : "", l[i]);
                if (at >= size)
                        return;
                named++;
        }
        if (more > 0)
                snprintf(buf + at, size - at, " and %zu more", more);
}

/* The whole-device state that would make the device what its rule wants (or, without one that says
 * a zone, what its blocks are now). */
static const char *target_state(const Device *d, const DaxBlockTally *t)
{
        DaxHotplug h = _DAX_HOTPLUG_INVALID;

        if (d->decision.mode == DAX_MODE_SYSTEM_RAM)
                h = dax_hotplug_for_online_type(d->decision.online);
        if (h < 0)
                h = t->online > 0 && t->normal == t->online ? DAX_HOTPLUG_ONLINE_KERNEL
                                                            : DAX_HOTPLUG_ONLINE_MOVABLE;
        return dax_hotplug_to_string(h);
}

#define DAX_STATE_PATH   "/sys/bus/dax/devices/%s/state"
#define BLOCK_STATE_PATH "/sys/devices/system/memory/memoryN/state"

static void report(Manager *m, Device *d, DaxDisagreement k, const DaxBlockTally *t)
{
        const char *h = dax_hotplug_to_string(d->dax->hotplug), *name = d->dax->name;
        char blocks[128];

        name_blocks(m, d, k, blocks, sizeof(blocks));
        switch (k) {
        case DAX_DISAGREE_ONLINE:
                log_device(
                        LOG_WARNING, 0, MHP_MESSAGE_DEVICE_DISAGREES, d,
                        "state reads offline but %u of %u blocks are online (onlined block by block); the "
                        "kernel cannot leave offline except through unplugged: `echo unplugged "
                        "> " DAX_STATE_PATH "` then `echo %s > " DAX_STATE_PATH
                        "` (this takes the memory away first)",
                        t->online, t->present, name, target_state(d, t), name);
                break;
        case DAX_DISAGREE_OFFLINE:
                log_device(
                        LOG_WARNING, 0, MHP_MESSAGE_DEVICE_DISAGREES, d,
                        "state reads %s but %u of %u blocks are offline (offlined block by block); a write "
                        "of "
                        "%s to state does nothing now, online them one by one: `echo %s > " BLOCK_STATE_PATH
                        "` for %s",
                        h, t->present - t->online, t->present, h, h, blocks);
                break;
        case DAX_DISAGREE_ZONE:
                log_device(
                        LOG_WARNING, 0, MHP_MESSAGE_DEVICE_DISAGREES, d,
                        "state reads %s but %s %s online in %s (onlined block by block); move them one by "
                        "one: `echo offline > " BLOCK_STATE_PATH "` then `echo %s > " BLOCK_STATE_PATH
                        "` for %s",
                        h, blocks, strchr(blocks, ',') ? "are" : "is",
                        d->dax->hotplug == DAX_HOTPLUG_ONLINE_MOVABLE ? "a kernel zone" : "Movable", h,
                        blocks);
                break;
        case DAX_DISAGREE_PRESENT:
                log_device(LOG_WARNING, 0, MHP_MESSAGE_DEVICE_DISAGREES, d,
                           "state reads unplugged but %u blocks of its range exist (%s); no write of state "
                           "changes that (unplugged again does nothing): `memhotplugctl rescan` reads them "
                           "again",
                           t->present, blocks);
                break;
        default:
                break;
        }
}

static void judge(Manager *m, Device *d)
{
        DaxBlockTally t;
        DaxDisagreement k;
        DaxHotplug h = DAX_HOTPLUG_NONE;
        bool was = d->hotplug_disagrees;
        int r;

        /* The file belongs to kmem: a device under device_dax has none to read. */
        if (d->dax->driver == DAX_DRIVER_KMEM) {
                r = dax_read_hotplug(m->sysfs, d->dax->name, &h);
                if (r < 0 && r != -ENOENT)
                        log_device(LOG_DEBUG, r, NULL, d, "Failed to read state, taking it as none: %m");
                if (r < 0)
                        h = DAX_HOTPLUG_NONE;
        }
        devices_tally_blocks(m, d, &t);
        if (device_busy(m, d, h, &t))
                return; /* stays touched: what it waits for touches it again */
        d->hotplug_stale = false;
        d->dax->hotplug = h;
        /* A zone written by someone else, or devdax again, ends PrepareUnplug's request; a file
         * that could not be read says nothing. */
        if (d->dax->driver != DAX_DRIVER_KMEM || (h != DAX_HOTPLUG_NONE && h != DAX_HOTPLUG_UNPLUGGED))
                device_unplugged_forget(m, d);

        k = disagreement(h, &t);
        log_device(LOG_DEBUG, 0, NULL, d, "state %s, %u of %u blocks online: %s", dax_hotplug_to_string(h),
                   t.online, t.present, k == DAX_DISAGREE_NONE ? "agree" : "disagree");
        d->hotplug_disagrees = k != DAX_DISAGREE_NONE;
        if (d->hotplug_announced != h || was != d->hotplug_disagrees) {
                d->hotplug_announced = h;
                manager_device_changed(m, d->dax->name);
        }

        if (k == DAX_DISAGREE_NONE) {
                if (d->reported_kind != DAX_DISAGREE_NONE)
                        log_device(LOG_INFO, 0, NULL, d, "state reads %s and its %u blocks agree again",
                                   dax_hotplug_to_string(h), t.present);
                d->reported_kind = DAX_DISAGREE_NONE;
                return;
        }
        /* Once per disagreement: the same one found again (another block of it written, a reload)
         * is not news. */
        if (d->reported_kind == k && d->reported_state == h)
                return;
        d->reported_kind = k;
        d->reported_state = h;
        report(m, d, k, &t);
}

void devices_hotplug_refresh(Manager *m)
{
        assert(m);

        for (size_t i = 0; m->devices && i < m->devices->n; i++)
                if (m->devices->list[i].hotplug_stale)
                        judge(m, &m->devices->list[i]);
}

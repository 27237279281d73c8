/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dax.h"
#include "device-log.h"
#include "devices-internal.h"
#include "fileio.h"
#include "memblock.h"
#include "intake.h"

/* Linux 7.3's whole-device hotplug through daxX.Y/state (docs/KERNELS.md): one write adds and
 * onlines every block of a device under one lock, and `unplugged` offlines and removes them all or
 * none. The kernel's success does not say the blocks agree (a per-block online failure is ignored,
 * a rewrite of the same word does nothing), so every write is followed by a look at the blocks.
 *
 * The writes of the convert path run on the onliner's offline thread (onliner_write_device()): on a
 * large device the kernel takes seconds, and the loop keeps answering D-Bus meanwhile. The thread
 * serialises them with the blocks' offlines, and no block is onlined while one runs. Their results
 * come back here, in the loop (devices_hotplug_written()). */

/* What a write on the thread is for (DeviceWrite.tag). */
enum {
        HOTPLUG_WRITE_UNPLUG_FIRST, /* `unplugged` of a device bound offline, before its zone */
        HOTPLUG_WRITE_ZONE,         /* the rule's zone, from `unplugged` */
        HOTPLUG_WRITE_PREPARE,      /* PrepareUnplug: `unplugged`, interruptible as a block's offline */
};

static int submit(Manager *m, const Device *d, DaxHotplug h, unsigned tag)
{
        DeviceWrite w = {
                .tag = tag,
                /* kmem.c's offline_and_remove_memory_ranges() gives up on a signal and puts every
                 * block back: OfflineTimeoutSec= and CancelJob work as they do for a block. */
                .timeout_usec = tag == HOTPLUG_WRITE_PREPARE ? m->config->offline_timeout_usec : 0,
                .cancellable = tag == HOTPLUG_WRITE_PREPARE,
        };

        snprintf(w.name, sizeof(w.name), "%s", d->dax->name);
        snprintf(w.value, sizeof(w.value), "%s", dax_hotplug_to_string(h));
        return intake_device_write(m->intake, &w);
}

/* Test only (docs/HACKING.md): MEMHOTPLUGD_TEST_STOP_AFTER=bind|unplugged|zone makes the daemon stop
 * itself with SIGSTOP right after that step of a conversion, so a VM scenario can kill -9 it at
 * that point rather than at a moment chosen by luck. The variable is read once; unset, or any other
 * word, and nothing stops. */
void device_hotplug_test_stop(const char *point)
{
        static const char *stop_after = NULL;
        static bool read_once = false;

        assert(point);

        if (!read_once) {
                stop_after = getenv("MEMHOTPLUGD_TEST_STOP_AFTER");
                read_once = true;
        }
        if (stop_after && streq(stop_after, point))
                (void)raise(SIGSTOP);
}

static int unplugged_path(const Manager *m, const char *name, char **ret)
{
        return asprintf(ret, "%s/" UNPLUGGED_DEVICES_DIR "/%s", m->options.runtime_dir, name) < 0 ? -ENOMEM
                                                                                                  : 0;
}

int device_unplugged_record(Manager *m, const char *name, bool on)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        assert(m);
        assert(name);

        r = unplugged_path(m, name, &path);
        if (r < 0)
                return r;
        if (on)
                /* Atomic: a kill leaves the record or none, never a half-made one. */
                return write_file_atomic(path, "");
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

void device_unplugged_forget(Manager *m, Device *d)
{
        int r;

        assert(m);
        assert(d);

        if (!d->unplugged_on_request)
                return;
        d->unplugged_on_request = d->unplugged_from_record = false;
        r = device_unplugged_record(m, d->dax->name, false);
        if (r < 0)
                log_device(LOG_WARNING, r, NULL, d, "Failed to remove %s/" UNPLUGGED_DEVICES_DIR "/%s: %m",
                           m->options.runtime_dir, d->dax->name);
}

void device_unplugged_load(Manager *m, Device *d)
{
        _cleanup_(freep) char *path = NULL;

        assert(m);
        assert(d);

        if (unplugged_path(m, d->dax->name, &path) < 0 || access(path, F_OK) < 0)
                return;
        /* Kept only while the file reads unplugged (device_hotplug_online()). */
        d->unplugged_on_request = d->unplugged_from_record = true;
}

/* The device's blocks as the kernel has them now: the table follows their uevents, which come
 * after the write. *ret_online (optional): the indices of those online. */
static int tally_now(Manager *m, const Device *d, DaxBlockTally *ret, unsigned **ret_online, size_t *ret_n)
{
        _cleanup_(freep) unsigned *l = NULL;
        uint64_t first, end;
        size_t n = 0;

        device_block_span(m, d, &first, &end);
        l = calloc(end - first + 1, sizeof(unsigned));
        if (!l)
                return -ENOMEM;
        *ret = (DaxBlockTally){};
        for (uint64_t i = first; i < end; i++) {
                const char *attr;
                BlockFacts f;

                /* State, and valid_zones (its zone) of an online block only: the tally needs no
                 * node, and a node look-up per block of a large device would double the reads. */
                if (memblock_read(m->sysfs, (unsigned)i, -1, &f, &attr) < 0)
                        continue; /* not there (unplugged), or gone while we read */
                ret->present++;
                if (f.state != BLOCK_ONLINE)
                        continue;
                ret->online++;
                ret->normal += (f.default_zone & ZONES_KERNEL) != 0;
                ret->movable += f.default_zone == ZONE_MOVABLE;
                l[n++] = (unsigned)i;
        }
        if (ret_online)
                *ret_online = TAKE_PTR(l);
        if (ret_n)
                *ret_n = n;
        return 0;
}

/* From `unplugged`: one write of the zone. The blocks it onlined are the device's write, counted in
 * the job under way; those it left offline arrive by their uevents and the block path onlines them
 * one by one (blocks.c gives them the file's zone). */
static int zone_written(Manager *m, Device *d, DaxHotplug want, int r)
{
        _cleanup_(freep) unsigned *online = NULL;
        DaxBlockTally t;
        size_t n = 0;

        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Writing %s to %s/state failed: %m",
                                  dax_hotplug_to_string(want), d->dax->name);
        r = tally_now(m, d, &t, &online, &n);
        if (r < 0)
                return log_oom();
        intake_device_onlined(m->intake, online, n);
        if (n > 0)
                devices_block_zone(m, d, t.movable > 0 ? ZONE_MOVABLE : ZONE_NORMAL);
        if (!dax_hotplug_agrees(want, &t))
                return log_device(LOG_WARNING, 0, NULL, d,
                                  "Onlined %u of its %u blocks (%u Movable) with one write of %s/state=%s; "
                                  "the kernel left %u offline, onlining them one by one",
                                  t.online, t.present, t.movable, d->dax->name, dax_hotplug_to_string(want),
                                  t.present - t.online);
        log_device(LOG_INFO, 0, NULL, d, "Onlined %u blocks into %s with one write of %s/state", t.online,
                   want == DAX_HOTPLUG_ONLINE_MOVABLE  ? "Movable"
                   : want == DAX_HOTPLUG_ONLINE_KERNEL ? "Normal"
                                                       : "the kernel's zone",
                   d->dax->name);
        return 0;
}

static int write_zone(Manager *m, Device *d, DaxHotplug want)
{
        int r;

        r = submit(m, d, want, HOTPLUG_WRITE_ZONE);
        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Writing %s to %s/state failed: %m",
                                  dax_hotplug_to_string(want), d->dax->name);
        return 0;
}

/* The device's offline blocks waited for its writes (blocks.c): they take the block path now. */
static int by_block(Manager *m, Device *d)
{
        d->hotplug_by_block = true;
        device_reconsider_blocks(m, d);
        return 0;
}

/* After a write of `unplugged`: the kernel removed every block or failed; a block still there is
 * not ours to unbind under. */
static int unplugged_check(Manager *m, Device *d, int r)
{
        DaxBlockTally t;

        if (r < 0)
                return r; /* all or nothing: every block is as it was */
        r = tally_now(m, d, &t, NULL, NULL);
        if (r < 0)
                return r;
        return t.present > 0 ? -EBUSY : 0;
}

int device_hotplug_unplug(Manager *m, Device *d)
{
        int r;

        assert(m);
        assert(d);

        r = dax_write_hotplug(m->sysfs, d->dax->name, DAX_HOTPLUG_UNPLUGGED);
        device_refresh(m, d);
        return unplugged_check(m, d, r);
}

int devices_prepare_unplug(Manager *m, Device *d)
{
        assert(m);
        assert(d);

        if (d->dax->hotplug == DAX_HOTPLUG_NONE || d->dax->driver != DAX_DRIVER_KMEM)
                return -EOPNOTSUPP; /* no file: block by block */
        if (intake_device_writing(m->intake, d->dax->name))
                return -EBUSY;
        return submit(m, d, DAX_HOTPLUG_UNPLUGGED, HOTPLUG_WRITE_PREPARE);
}

/* PrepareUnplug's `unplugged` is over: all or nothing, so one result stands for every block. */
static int prepare_written(Manager *m, Device *d, int result, int interrupted)
{
        int r;

        if (result < 0 && interrupted < 0 && result != interrupted)
                /* The kernel's own answer as the signal came: whoever stopped it was told the device
                 * stays as it was, and it does. */
                result = interrupted;
        if (result == -EINTR)
                result = -ECANCELED;
        r = unplugged_check(m, d, result);
        if (r < 0) {
                log_device(LOG_WARNING, r, NULL, d,
                           "Writing unplugged to %s/state for an unplug failed: %m; the kernel put every "
                           "block back as it was",
                           d->dax->name);
                return r;
        }
        d->unplugged_on_request = true;
        r = device_unplugged_record(m, d->dax->name, true);
        if (r < 0)
                log_device(LOG_WARNING, r, NULL, d,
                           "Failed to record %s as unplugged on request in %s/" UNPLUGGED_DEVICES_DIR
                           ": %m; a restart of the daemon before its removal brings it back online",
                           d->dax->name, m->options.runtime_dir);
        log_device(LOG_INFO, 0, NULL, d,
                   "Offlined and removed every block with one write of unplugged to %s/state; the device "
                   "stays bound to kmem, unplugged, and can be removed",
                   d->dax->name);
        return 0;
}

int devices_hotplug_written(Manager *m, const DeviceWrite *w, int result, int interrupted,
                            uint64_t *ret_first, uint64_t *ret_end)
{
        Device *d;
        int r;

        assert(m);
        assert(w);
        assert(ret_first);
        assert(ret_end);

        *ret_first = *ret_end = 0;
        d = devices_find(m, w->name);
        if (!d)
                return 0; /* removed while its write was in flight: nothing left to follow */
        if (w->tag == HOTPLUG_WRITE_PREPARE)
                device_block_span(m, d, ret_first, ret_end);
        device_refresh(m, d);
        devices_hotplug_touch(m, d); /* not judged while the write was in flight */
        switch (w->tag) {
        case HOTPLUG_WRITE_UNPLUG_FIRST:
                r = unplugged_check(m, d, result);
                if (r < 0) {
                        log_device(LOG_WARNING, r, NULL, d,
                                   "Writing unplugged to %s/state failed, onlining block by block: %m",
                                   d->dax->name);
                        (void)by_block(m, d);
                        return 0;
                }
                device_hotplug_test_stop("unplugged");
                /* The file reads unplugged now: the zone, as the rule says by now. */
                if (device_hotplug_online(m, d) == 0)
                        log_device(LOG_WARNING, 0, NULL, d, "Left unplugged: %s", d->decision.reason);
                return 0;
        case HOTPLUG_WRITE_PREPARE:
                return prepare_written(m, d, result, interrupted);
        case HOTPLUG_WRITE_ZONE:
                device_hotplug_test_stop("zone");
                (void)zone_written(m, d, dax_hotplug_from_string(w->value), result);
                /* Blocks the kernel left offline whose uevent came while the write was in flight
                 * waited for it (blocks.c): the block path takes them now. */
                device_reconsider_blocks(m, d);
                return 0;
        default:
                return 0;
        }
}

int device_hotplug_online(Manager *m, Device *d)
{
        DaxHotplug want;
        DaxBlockTally t;
        int r;

        assert(m);
        assert(d);

        want = dax_hotplug_for_online_type(d->decision.online);
        if (want < 0 || d->decision.mode != DAX_MODE_SYSTEM_RAM)
                return 0; /* auto-movable, platform: decided per block */
        if (intake_device_writing(m->intake, d->dax->name))
                return 1; /* its writes are under way; their end goes on from there */
        if (d->dax->hotplug != DAX_HOTPLUG_UNPLUGGED)
                device_unplugged_forget(m, d); /* someone wrote a zone: the request is over */
        else if (d->unplugged_on_request) {
                if (d->unplugged_from_record)
                        log_device(
                                LOG_NOTICE, 0, NULL, d,
                                "%s/state left unplugged: PrepareUnplug asked for it before the restart; "
                                "RevertDevice or `echo ZONE > /sys/bus/dax/devices/%s/state` brings it back",
                                d->dax->name, d->dax->name);
                d->unplugged_from_record = false;
                return 1; /* prepared for removal: it stays so */
        }

        switch (d->dax->hotplug) {
        case DAX_HOTPLUG_OFFLINE:
                /* Bound under auto_online_blocks=offline: the file cannot go to a zone from here. */
                r = tally_now(m, d, &t, NULL, NULL);
                if (r < 0)
                        return log_oom();
                if (t.online > 0)
                        return by_block(m, d); /* memory in use under a file that says offline */
                r = submit(m, d, DAX_HOTPLUG_UNPLUGGED, HOTPLUG_WRITE_UNPLUG_FIRST);
                if (r < 0) {
                        log_device(LOG_WARNING, r, NULL, d,
                                   "Writing unplugged to %s/state failed, onlining block by block: %m",
                                   d->dax->name);
                        return by_block(m, d);
                }
                return 1;
        case DAX_HOTPLUG_UNPLUGGED:
                /* Stopped between the two writes (a restart): the zone is what is left. */
                return write_zone(m, d, want) < 0 ? 0 : 1;
        default:
                /* online*: its blocks agree, or those left offline take the block path into the
                 * file's zone; a rewrite of the same word would do nothing. */
                return 0;
        }
}

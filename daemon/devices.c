/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "bus.h"
#include "cxl.h"
#include "dax-convert.h"
#include "dax.h"
#include "ini-file.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "parse-util.h"

/* Device-dax instances: read them, ask the policy, convert the ones it wants as system RAM. Their
 * blocks then arrive as ordinary memory blocks, and handle_block() gives them the device's rule. */

/* Journal entries about a device carry where it comes from, so "journalctl DAX_DEVICE=dax0.0" or
 * "journalctl CXL_SERIAL=0x…" find it. */
_printf_(5, 6) static int log_device(int level, int error, const char *message_id, const Device *d,
                                     const char *format, ...)
{
        char f_dev[64], f_source[32], f_region[64], f_serial[128], f_uuid[64], message[512];
        const char *fields[6] = {};
        const DaxDevice *x = d->dax;
        size_t n = 0, k = 0;
        va_list ap;

        if (level > log_get_max_level())
                return error < 0 ? error : -error;

        snprintf(f_dev, sizeof(f_dev), "DAX_DEVICE=%s", x->name);
        fields[n++] = f_dev;
        snprintf(f_source, sizeof(f_source), "DAX_SOURCE=%s", dax_source_to_string(x->source));
        fields[n++] = f_source;
        if (x->cxl_region) {
                snprintf(f_region, sizeof(f_region), "CXL_REGION=%s", x->cxl_region);
                fields[n++] = f_region;
        }
        if (x->n_cxl_serials > 0) {
                k = snprintf(f_serial, sizeof(f_serial), "CXL_SERIAL=");
                for (size_t i = 0; i < x->n_cxl_serials && k < sizeof(f_serial); i++)
                        k += snprintf(f_serial + k, sizeof(f_serial) - k, "%s0x%" PRIx64, i ? "," : "",
                                      x->cxl_serials[i]);
                fields[n++] = f_serial;
        }
        if (x->nvdimm_uuid) {
                snprintf(f_uuid, sizeof(f_uuid), "NVDIMM_UUID=%s", x->nvdimm_uuid);
                fields[n++] = f_uuid;
        }

        errno = error < 0 ? -error : error;
        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return log_fields_errno(level, error, message_id, fields, "%s: %s", x->name, message);
}

Device *devices_find(Manager *m, const char *name)
{
        for (size_t i = 0; i < m->n_devices; i++)
                if (streq(m->devices[i].dax->name, name))
                        return &m->devices[i];
        return NULL;
}

Device *devices_owner_of_block(Manager *m, unsigned index)
{
        uint64_t start = (uint64_t)index * m->block_size;

        for (size_t i = 0; i < m->n_devices; i++) {
                const DaxDevice *x = m->devices[i].dax;

                if (x->driver == DAX_DRIVER_KMEM && start >= x->resource && start < x->resource + x->size)
                        return &m->devices[i];
        }
        return NULL;
}

void devices_count_blocks(Manager *m, const Device *d, unsigned *ret_online, unsigned *ret_total)
{
        uint64_t first = d->dax->resource / m->block_size;
        uint64_t end = (d->dax->resource + d->dax->size + m->block_size - 1) / m->block_size;

        *ret_online = *ret_total = 0;
        for (uint64_t i = first; i < end && i < m->n_blocks; i++)
                if (m->blocks[i].flags & BLOCK_KNOWN) {
                        (*ret_total)++;
                        *ret_online += m->blocks[i].state == BLOCK_ONLINE;
                }
}

/* The whole device goes into one zone: the first block's sets it for the rest. */
void devices_block_zone(Manager *m, Device *d, Zone zone)
{
        if (d->zone == 0 && zone != 0)
                d->zone = zone;
}

static int device_read(Manager *m, const char *name, DaxDevice **ret)
{
        _cleanup_(dax_device_freep) DaxDevice *x = NULL;
        const char *attr = NULL;
        int r;

        r = dax_device_read(m->sysfs, name, &x, &attr);
        if (r < 0)
                return log_warning_errno(r, "%s: Cannot read %s%s, skipping device: %m", name, strna(attr),
                                         r == -EBADMSG ? " (unexpected value)" : "");

        /* The serials behind a CXL region come from libcxl, which reads the real /sys. */
        if (x->cxl_region && m->dax_possible) {
                r = cxl_region_serials(x->cxl_region, &x->cxl_serials, &x->n_cxl_serials);
                if (r < 0)
                        log_debug_errno(r, "%s: Cannot resolve %s through libcxl, no serial to match: %m",
                                        name, x->cxl_region);
        }
        *ret = TAKE_PTR(x);
        return 0;
}

static void device_decide(Manager *m, Device *d)
{
        DaxFacts f;

        dax_device_facts(d->dax, dax_memmap_global(m->sysfs), &f);
        dax_policy_decide(m->config, &f, &d->decision);
        /* Returned to devdax over D-Bus: device_act() leaves it, so say that, not what the rule
         * would do. */
        if (d->user_devdax && d->dax->driver != DAX_DRIVER_KMEM &&
            d->decision.action == DAX_ACTION_CONVERT) {
                d->decision.action = DAX_ACTION_LEAVE;
                snprintf(d->decision.reason, sizeof(d->decision.reason),
                         "returned to devdax on request; %s would convert it", d->decision.rule);
        }
}

static int device_convert(Manager *m, Device *d)
{
        DaxDevice *x;
        int r;

        if (!m->dax_possible)
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
                return log_device(LOG_ERR, r, NULL, d, "Cannot convert: libdaxctl.so.1 is not installed");
        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Converting to system-ram failed: %m");

        r = device_read(m, d->dax->name, &x);
        if (r >= 0) {
                dax_device_free(d->dax);
                d->dax = x;
        }
        log_device(LOG_INFO, 0, MHP_MESSAGE_DEVICE_CONVERTED, d,
                   "Converted to system-ram, %" PRIu64 " MiB: %s", d->dax->size >> 20, d->decision.reason);
        manager_mark_dirty(m, DIRTY_DEVICES);
        return 0;
}

static int device_act(Manager *m, Device *d)
{
        if (d->user_devdax && d->dax->driver != DAX_DRIVER_KMEM) {
                log_device(LOG_DEBUG, 0, NULL, d, "Returned to devdax on request, leaving it");
                return 0;
        }
        switch (d->decision.action) {
        case DAX_ACTION_CONVERT:
                return device_convert(m, d);
        case DAX_ACTION_REFUSE:
                return log_device(LOG_WARNING, 0, NULL, d, "Left as it is: %s", d->decision.reason);
        case DAX_ACTION_NONE:
        case DAX_ACTION_LEAVE:
        case DAX_ACTION_IGNORE:
        default:
                log_device(LOG_INFO, 0, NULL, d, "%s: %s", dax_driver_to_string(d->dax->driver),
                           d->decision.reason);
                return 0;
        }
}

static Device *device_add(Manager *m, DaxDevice *x)
{
        Device *l;

        l = realloc(m->devices, (m->n_devices + 1) * sizeof(Device));
        if (!l)
                return NULL;
        m->devices = l;
        m->devices[m->n_devices] = (Device){ .dax = x };
        return &m->devices[m->n_devices++];
}

static void device_remove(Manager *m, Device *d)
{
        size_t i = d - m->devices;

        dax_device_free(d->dax);
        memmove(m->devices + i, m->devices + i + 1, (m->n_devices - i - 1) * sizeof(Device));
        m->n_devices--;
        manager_mark_dirty(m, DIRTY_DEVICES);
}

/* A device announced by "add" may not have its driver yet (device_dax probes right after): look
 * again shortly rather than race the kernel's own bind. */
#define DRIVER_WAIT_USEC  (100 * USEC_PER_MSEC)
#define DRIVER_WAIT_TRIES 10

static int handle_device(Manager *m, const char *name, bool from_event, unsigned tries);

typedef struct DriverWait {
        Manager *manager;
        char *name;
        unsigned tries;
} DriverWait;

static int on_driver_wait(sd_event_source *s, uint64_t usec, void *userdata)
{
        DriverWait *w = userdata;

        (void)handle_device(w->manager, w->name, true, w->tries);
        free(w->name);
        free(w);
        sd_event_source_unref(s);
        return 0;
}

static int driver_wait(Manager *m, const char *name, unsigned tries)
{
        sd_event_source *s;
        DriverWait *w;
        int r;

        w = calloc(1, sizeof(DriverWait));
        if (!w)
                return -ENOMEM;
        *w = (DriverWait){ .manager = m, .name = strdup(name), .tries = tries };
        if (!w->name) {
                free(w);
                return -ENOMEM;
        }
        r = sd_event_add_time_relative(m->event, &s, CLOCK_MONOTONIC, DRIVER_WAIT_USEC, 1, on_driver_wait,
                                       w);
        if (r < 0) {
                free(w->name);
                free(w);
        }
        return r;
}

static int handle_device(Manager *m, const char *name, bool from_event, unsigned tries)
{
        DaxDevice *x;
        Device *d;
        int r;

        r = device_read(m, name, &x);
        if (r < 0)
                return r;
        if (from_event && x->driver == DAX_DRIVER_NONE && tries < DRIVER_WAIT_TRIES &&
            driver_wait(m, name, tries + 1) >= 0) {
                dax_device_free(x);
                return 0;
        }

        d = devices_find(m, name);
        if (d) {
                dax_device_free(d->dax);
                d->dax = x;
        } else {
                d = device_add(m, x);
                if (!d) {
                        dax_device_free(x);
                        return log_oom();
                }
        }
        device_decide(m, d);
        manager_mark_dirty(m, DIRTY_DEVICES);
        return device_act(m, d);
}

int devices_scan(Manager *m)
{
        _cleanup_(strv_freep) char **names = NULL;
        int r;

        r = dax_enumerate(m->sysfs, &names);
        if (r < 0)
                return log_warning_errno(r, "Failed to list dax devices, ignoring: %m");

        /* Devices that vanished while we were not listening. */
        for (size_t i = m->n_devices; i > 0; i--) {
                bool present = false;

                for (char **p = names; *p && !present; p++)
                        present = streq(*p, m->devices[i - 1].dax->name);
                if (!present)
                        device_remove(m, &m->devices[i - 1]);
        }
        for (char **p = names; *p; p++)
                if (!devices_find(m, *p))
                        (void)handle_device(m, *p, false, 0);
        return 0;
}

void devices_reconsider(Manager *m)
{
        for (size_t i = 0; i < m->n_devices; i++) {
                device_decide(m, &m->devices[i]);
                (void)device_act(m, &m->devices[i]);
        }
        (void)devices_scan(m);
}

void devices_on_uevent(Manager *m, const char *action, const char *sysname)
{
        Device *d = devices_find(m, sysname);
        DaxDevice *x;

        if (strncmp(sysname, "dax", 3) != 0 || strchr(sysname, '.') == NULL)
                return; /* dax_regionN and the like */

        if (streq(action, "remove")) {
                if (d) {
                        log_device(LOG_INFO, 0, NULL, d, "Removed");
                        device_remove(m, d);
                }
                return;
        }
        if (!d) {
                (void)handle_device(m, sysname, true, 0);
                return;
        }
        /* bind, unbind, change: someone (or we) changed its driver. Follow, don't act. */
        if (device_read(m, sysname, &x) >= 0) {
                dax_device_free(d->dax);
                d->dax = x;
                device_decide(m, d);
                manager_mark_dirty(m, DIRTY_DEVICES);
        }
}

int devices_revert(Manager *m, Device *d)
{
        unsigned online, total;
        DaxDevice *x;
        int r;

        if (!m->dax_possible)
                return -EOPNOTSUPP;
        devices_count_blocks(m, d, &online, &total);
        if (online > 0)
                return -EBUSY;
        r = dax_convert_to_devdax(d->dax->name);
        if (r < 0)
                return log_device(LOG_ERR, r, NULL, d, "Returning to devdax failed: %m");
        d->user_devdax = true;
        d->zone = 0;
        if (device_read(m, d->dax->name, &x) >= 0) {
                dax_device_free(d->dax);
                d->dax = x;
        }
        device_decide(m, d);
        log_device(LOG_INFO, 0, NULL, d, "Returned to devdax on request; the policy leaves it so");
        manager_mark_dirty(m, DIRTY_DEVICES);
        return 0;
}

void devices_free(Manager *m)
{
        for (size_t i = 0; i < m->n_devices; i++)
                dax_device_free(m->devices[i].dax);
        m->devices = mfree(m->devices);
        m->n_devices = 0;
}

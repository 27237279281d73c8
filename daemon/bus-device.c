/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "bus-internal.h"
#include "bus.h"
#include "dax.h"
#include "devices.h"
#include "log.h"
#include "macro.h"

/* org.memhotplug1.Device on /org/memhotplug1/device/<name, path-encoded>, one per device-dax
 * instance, plus the Manager's ListDevices and RevertDevice. */

static Device *device_from_path(Manager *m, const char *path)
{
        _cleanup_(freep) char *name = NULL;

        if (sd_bus_path_decode(path, BUS_DEVICE_PREFIX, &name) <= 0)
                return NULL;
        return devices_find(m, name);
}

int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error)
{
        Manager *m;

        assert(bus);
        assert(path);
        assert(interface);
        assert(userdata);
        assert(found);
        assert(error);

        m = userdata;

        if (!device_from_path(m, path))
                return 0;
        *found = m;
        return 1;
}

int bus_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error)
{
        Manager *m;
        char **l;

        assert(bus);
        assert(path);
        assert(userdata);
        assert(nodes);
        assert(error);

        m = userdata;

        l = calloc(m->devices->n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->devices->n; i++)
                if (sd_bus_path_encode(BUS_DEVICE_PREFIX, m->devices->list[i].dax->name, &l[i]) < 0) {
                        strv_freep(&l);
                        return -ENOMEM;
                }
        *nodes = l;
        return 0;
}

/* Where the struct pages of the device's memory are, or would be. */
static const char *memmap_placement(const DaxDevice *x)
{
        if (!x->memmap_attr)
                /* Before Linux 6.8, kmem always puts the memmap in system RAM. */
                return x->driver == DAX_DRIVER_KMEM ? "system-ram" : "unsupported";
        return x->memmap == 1 ? "device" : "system-ram";
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const DaxDevice *x;
        unsigned online, total;
        Device *d;
        int r;

        d = device_from_path(m, path);
        if (!d)
                return -ENOENT;
        x = d->dax;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", x->name);
        if (streq(property, "SysfsPath"))
                return sd_bus_message_append(reply, "s", strempty(x->path));
        if (streq(property, "Source"))
                return sd_bus_message_append(reply, "s", dax_source_to_string(x->source));
        if (streq(property, "TargetNode"))
                return sd_bus_message_append(reply, "i", x->target_node);
        if (streq(property, "Resource"))
                return sd_bus_message_append(reply, "t", x->resource);
        if (streq(property, "Size"))
                return sd_bus_message_append(reply, "t", x->size);
        if (streq(property, "Mode"))
                return sd_bus_message_append(reply, "s", dax_driver_to_string(x->driver));
        if (streq(property, "MemmapOnMemory"))
                return sd_bus_message_append(reply, "s", memmap_placement(x));
        if (streq(property, "Rule"))
                return sd_bus_message_append(reply, "s", d->decision.rule);
        if (streq(property, "Action"))
                return sd_bus_message_append(reply, "s", dax_action_to_string(d->decision.action));
        if (streq(property, "Reason"))
                return sd_bus_message_append(reply, "s", d->decision.reason);
        if (streq(property, "CXLRegion"))
                return sd_bus_message_append(reply, "s", strempty(x->cxl_region));
        if (streq(property, "NvdimmUUID"))
                return sd_bus_message_append(reply, "s", strempty(x->nvdimm_uuid));
        if (streq(property, "HotplugState"))
                return sd_bus_message_append(reply, "s", dax_hotplug_to_string(x->hotplug));
        if (streq(property, "HotplugConsistent"))
                return sd_bus_message_append(reply, "b", !d->hotplug_disagrees);
        if (streq(property, "CXLSerials")) {
                r = sd_bus_message_open_container(reply, 'a', "t");
                for (size_t i = 0; r >= 0 && i < x->n_cxl_serials; i++)
                        r = sd_bus_message_append(reply, "t", x->cxl_serials[i]);
                return r < 0 ? r : sd_bus_message_close_container(reply);
        }
        devices_count_blocks(m, d, &online, &total);
        return sd_bus_message_append(reply, "u", streq(property, "BlocksOnline") ? online : total);
}

const sd_bus_vtable bus_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SysfsPath", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Source", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TargetNode", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Resource", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Size", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mode", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("MemmapOnMemory", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("BlocksOnline", "u", property_get, 0, 0),
        SD_BUS_PROPERTY("BlocksTotal", "u", property_get, 0, 0),
        SD_BUS_PROPERTY("Rule", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("Action", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("Reason", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("CXLRegion", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CXLSerials", "at", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NvdimmUUID", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HotplugState", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HotplugConsistent", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static int append_device_rows(sd_bus_message *reply, void *userdata)
{
        Manager *m = userdata;
        int r;

        for (size_t i = 0; i < m->devices->n; i++) {
                const Device *d = &m->devices->list[i];
                _cleanup_(freep) char *p = NULL;
                unsigned online, total;

                r = sd_bus_path_encode(BUS_DEVICE_PREFIX, d->dax->name, &p);
                if (r < 0)
                        return r;
                devices_count_blocks(m, d, &online, &total);
                r = sd_bus_message_append(reply, BUS_ROW_DEVICE, d->dax->name, p, d->dax->target_node,
                                          dax_source_to_string(d->dax->source),
                                          dax_driver_to_string(d->dax->driver), memmap_placement(d->dax),
                                          d->dax->resource, d->dax->size, online, total, d->decision.rule,
                                          d->decision.reason, dax_hotplug_to_string(d->dax->hotplug),
                                          !d->hotplug_disagrees);
                if (r < 0)
                        return r;
        }
        return 0;
}

int bus_method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        assert(message);
        assert(userdata);
        assert(error);

        return bus_reply_rows(message, BUS_ROW_DEVICE, append_device_rows, userdata);
}

/* All blocks of the device are offline (or some refused): unbind kmem, or say which block refused. */
static int revert_done(Manager *m, Request *q)
{
        _cleanup_(freep) char *refused = NULL;
        size_t n;
        Device *d;
        int r;

        r = request_failures(q, &refused, &n);
        if (r < 0)
                return r;
        if (n > 0)
                return sd_bus_reply_method_errorf(
                        q->message, BUS_ERROR_DEVICE_BUSY,
                        "%s stays system-ram: %zu block(s) refused to go offline: %s", q->device, n,
                        refused);

        d = devices_find(m, q->device);
        if (!d)
                return sd_bus_reply_method_errorf(q->message, BUS_ERROR_NO_SUCH_DEVICE, "%s is gone.",
                                                  q->device);
        r = devices_revert(m, d);
        if (r == -EBUSY) /* a block online again, or the kernel refused `unplugged` (Linux 7.3) */
                return sd_bus_reply_method_errorf(q->message, BUS_ERROR_DEVICE_BUSY,
                                                  "%s stays system-ram: its memory is in use (%s)",
                                                  q->device, strerror(EBUSY));
        if (r < 0)
                return sd_bus_reply_method_errnof(q->message, r, "Returning %s to devdax failed: %m",
                                                  q->device);
        return request_reply(q);
}

int bus_method_revert_device(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) unsigned *blocks = NULL;
        Manager *m;
        const char *name;
        size_t n = 0;
        Request *q;
        Device *d;
        int r;

        assert(message);
        assert(userdata);
        assert(error);

        m = userdata;

        r = bus_check_root(message, "return devices to devdax", error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        d = devices_find(m, name);
        if (!d)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE, "No dax device %s.", name);
        if (!m->devices->dax_possible)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                                         "libdaxctl works on /sys only; this daemon runs on %s.",
                                         sysfs_root(m->sysfs));
        if (d->dax->driver != DAX_DRIVER_KMEM)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED, "%s is %s, not system-ram.", name,
                                         dax_driver_to_string(d->dax->driver));

        r = devices_blocks(m, d, &blocks, &n);
        if (r < 0)
                return r;
        r = request_new(m, message, blocks, n, &q);
        if (r < 0)
                return r;
        q->on_done = revert_done;
        q->device = strdup(name);
        if (!q->device)
                return -ENOMEM;

        log_info("Returning %s to devdax on request: offlining %zu block(s) first", name, n);
        (void)request_offline_blocks(m, q);
        request_answer_if_done(m, q);
        return 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"
#include "map-sysfs.h"
#include "map.h"
#include "rows.h"

/* memhotplugctl map: each node's memory as a row of cells (map.c draws it). The blocks, their
 * drift and the dax devices come from the daemon when it runs, else from sysfs; the DIMMs from
 * sysfs always, since the daemon does not list them (their links are readable by every user). */

typedef struct BusBlock {
        uint32_t index;
        int32_t node;
        const char *state, *zone, *rule;
        uint64_t start, size;
        int removable;
} BusBlock;

static int read_block(sd_bus_message *m, const char *signature, void *row)
{
        BusBlock *b = row;

        return sd_bus_message_read(m, signature, &b->index, &b->node, &b->state, &b->zone, &b->start,
                                   &b->size, &b->removable, &b->rule);
}

/* Whether the daemon is simply not there: then sysfs is the next best source. */
static bool not_running(const sd_bus_error *error)
{
        return sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
               sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}

/* Calls a Manager method without arguments and reads its rows; -ENOENT when the daemon does not
 * run (after nothing was printed). */
static int call_rows(sd_bus *bus, const char *method, const char *signature, size_t row_size,
                     row_read_fn read_one, sd_bus_message **ret_reply, void **ret, size_t *ret_n)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, method, &error, &reply, NULL);
        if (r < 0 && not_running(&error))
                return -ENOENT;
        /* A daemon from before that method: the caller decides whether it can do without. */
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                return -EBADR;
        if (r < 0)
                return log_bus_error(r, &error, method);
        r = rows_read(reply, signature, row_size, read_one, ret, ret_n);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply to %s: %m", method);
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

static void mark_drift(Map *m, sd_bus *bus)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) PlanRow *plan = NULL;
        size_t n;

        /* Plan's "rezone" rows are the drifted blocks; without them the map only shows no drift. */
        if (call_rows(bus, "Plan", BUS_ROW_PLAN, sizeof(PlanRow), plan_row_read, &reply, (void **)&plan,
                      &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                MapBlock *b;

                if (!streq(plan[i].action, "rezone"))
                        continue;
                b = (MapBlock *)map_find_block(m, plan[i].block);
                if (b)
                        b->drift = true;
        }
}

static int add_devices(Map *m, sd_bus *bus)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) DeviceRow *devices = NULL;
        size_t n;
        int r;

        r = call_rows(bus, "ListDevices", BUS_ROW_DEVICE, sizeof(DeviceRow), device_row_read, &reply,
                      (void **)&devices, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                MapDevice d = { .node = devices[i].target_node,
                                .start = devices[i].start,
                                .size = devices[i].size };

                snprintf(d.name, sizeof(d.name), "%s", devices[i].name);
                snprintf(d.source, sizeof(d.source), "%s", devices[i].source);
                snprintf(d.mode, sizeof(d.mode), "%s", devices[i].mode);
                r = map_add_device(m, &d);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
        }
        return 0;
}

/* The map from the daemon; -ENOENT when it does not run. */
static int map_from_daemon(Map *m, sd_bus *bus)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) BusBlock *blocks = NULL;
        size_t n;
        int r;

        r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "BlockSize", &error, 't',
                                        &m->block_size);
        if (r < 0 && not_running(&error))
                return -ENOENT;
        if (r < 0)
                return log_bus_error(r, &error, "read the block size");
        r = call_rows(bus, "ListBlocks", BUS_ROW_BLOCK, sizeof(BusBlock), read_block, &reply,
                      (void **)&blocks, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                MapBlock b = {
                        .index = blocks[i].index,
                        .node = blocks[i].node,
                        .start = blocks[i].start,
                        .size = blocks[i].size,
                };

                snprintf(b.state, sizeof(b.state), "%s", blocks[i].state);
                snprintf(b.zone, sizeof(b.zone), "%s", blocks[i].zone);
                r = map_add_block(m, &b);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
        }
        map_sort(m);
        mark_drift(m, bus);
        r = add_devices(m, bus);
        /* A daemon from before device-dax support has no ListDevices: no devices to mark. */
        if (r == -EBADR)
                r = 0;
        return r;
}

static bool use_color(ColorMode mode)
{
        const char *e;

        if (mode != COLOR_AUTO)
                return mode == COLOR_ALWAYS;
        /* https://no-color.org: set and not empty turns colour off. */
        e = getenv("NO_COLOR");
        if (e && *e)
                return false;
        e = getenv("TERM");
        return isatty(STDOUT_FILENO) && !(e && streq(e, "dumb"));
}

int verb_map(Context *c)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(map_done) Map m = {};
        _cleanup_(freep) char *sys = NULL;
        int r;

        assert(c);

        if (asprintf(&sys, "%s/sys", c->root ?: "") < 0)
                return log_error_errno(-ENOMEM, "Out of memory");

        /* Honours DBUS_SYSTEM_BUS_ADDRESS, as every verb; no bus at all is a daemon that does not run. */
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_error_add_map(bus_error_map);
        r = r >= 0 ? map_from_daemon(&m, bus) : -ENOENT;
        if (r == -ENOENT) {
                map_done(&m);
                r = map_read_sysfs(sys, &m);
                if (r < 0)
                        return log_error_errno(r,
                                               "memhotplugd is not running, and reading "
                                               "%s/devices/system/memory failed: %m",
                                               sys);
                m.origin = "sysfs";
        } else if (r < 0)
                return r;
        else {
                m.origin = "memhotplugd";
                m.drift_known = true;
                /* The marks are extra: a map without them is still right. */
                (void)map_read_dimms(sys, &m);
        }
        map_sort(&m);
        r = map_print(&m, map_columns(STDOUT_FILENO), use_color(c->color), stdout);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        return 0;
}

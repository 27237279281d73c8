/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json-writer.h"
#include "rows.h"
#include "table.h"

/* memhotplugctl devices: device-dax instances (ListDevices, a(soisssttuusssb)): name, object,
 * target node, source, mode, memmap placement, resource, size, blocks online, blocks total, rule,
 * reason, hotplug state, whether the blocks agree with it. */

static int print_json(const DeviceRow *rows, size_t n, JsonMode mode)
{
        JsonWriter w;

        json_init(&w, stdout, mode == JSON_PRETTY);
        json_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
                json_begin_object(&w);
                json_field_string(&w, "Device", rows[i].name);
                json_field_string(&w, "Object", rows[i].object);
                if (rows[i].target_node >= 0)
                        json_field_unsigned(&w, "TargetNode", (uint64_t)rows[i].target_node);
                else
                        json_field_string(&w, "TargetNode", NULL);
                json_field_string(&w, "Source", rows[i].source);
                json_field_string(&w, "Mode", rows[i].mode);
                json_field_string(&w, "MemmapOnMemory", rows[i].memmap);
                json_field_unsigned(&w, "Start", rows[i].start);
                json_field_unsigned(&w, "Size", rows[i].size);
                json_field_unsigned(&w, "BlocksOnline", rows[i].online);
                json_field_unsigned(&w, "BlocksTotal", rows[i].total);
                json_field_string(&w, "Rule", rows[i].rule);
                json_field_string(&w, "Reason", rows[i].reason);
                json_field_string(&w, "HotplugState", rows[i].hotplug);
                json_field_bool(&w, "HotplugConsistent", rows[i].consistent);
                json_end_object(&w);
        }
        json_end_array(&w);
        return json_finish(&w);
}

static int print_table(const DeviceRow *rows, size_t n)
{
        static const TableColumn columns[] = {
                { "DEVICE", ALIGN_LEFT },  { "SOURCE", ALIGN_LEFT },  { "MODE", ALIGN_LEFT },
                { "RANGE", ALIGN_LEFT },   { "SIZE", ALIGN_RIGHT },   { "NODE", ALIGN_RIGHT },
                { "BLOCKS", ALIGN_RIGHT }, { "HOTPLUG", ALIGN_LEFT }, { "MEMMAP", ALIGN_LEFT },
                { "RULE", ALIGN_LEFT },
        };
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        if (n == 0) {
                printf("No device-dax devices.\n");
                return 0;
        }
        t = table_new(columns, ELEMENTSOF(columns));
        if (!t)
                return log_error_errno(-ENOMEM, "Out of memory");
        for (size_t i = 0; i < n; i++) {
                char range[48], size[FORMAT_BYTES_MAX], node[16], blocks[32], hotplug[48];

                snprintf(range, sizeof(range), "0x%016" PRIx64 "-0x%016" PRIx64, rows[i].start,
                         rows[i].start + rows[i].size - 1);
                if (rows[i].target_node >= 0)
                        snprintf(node, sizeof(node), "%" PRIi32, rows[i].target_node);
                else
                        snprintf(node, sizeof(node), "-");
                if (rows[i].total > 0)
                        snprintf(blocks, sizeof(blocks), "%" PRIu32 "/%" PRIu32 " online", rows[i].online,
                                 rows[i].total);
                else
                        snprintf(blocks, sizeof(blocks), "-");
                /* The kernel's record of the whole device, and whether its blocks say the same. */
                snprintf(hotplug, sizeof(hotplug), "%s%s", rows[i].hotplug,
                         rows[i].consistent ? "" : " (blocks disagree)");
                r = table_add_row(t, (const char *const[]){ rows[i].name, rows[i].source, rows[i].mode,
                                                            range, format_bytes(size, rows[i].size), node,
                                                            blocks, hotplug, rows[i].memmap, rows[i].rule });
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
        }
        r = table_print(t, stdout);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        /* Why each device is what it is: the policy's reason, one line each. */
        printf("\n");
        for (size_t i = 0; i < n; i++)
                printf("%s: %s\n", rows[i].name, rows[i].reason);
        return 0;
}

int verb_devices(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) DeviceRow *rows = NULL;
        size_t n;
        int r;

        assert(c);

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "ListDevices", &error, &reply,
                               NULL);
        /* A daemon from before device-dax support: not an error, there is just nothing to show. For
         * callers other than root, dbus-daemon answers first: reads are open to everyone by design,
         * so AccessDenied on this one means the installed bus policy predates ListDevices too. */
        if (r < 0 && (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD) ||
                      (geteuid() != 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED)))) {
                if (c->json != JSON_OFF)
                        printf("[]\n");
                else
                        printf("No device-dax support in this daemon yet.\n");
                return 0;
        }
        if (r < 0)
                return log_bus_error(r, &error, "list devices");
        if (!streq(sd_bus_message_get_signature(reply, true), "a" BUS_ROW_DEVICE))
                return log_error_errno(-EBADMSG,
                                       "Unexpected ListDevices reply (signature %s): this memhotplugctl is "
                                       "older than the daemon",
                                       sd_bus_message_get_signature(reply, true));
        r = rows_read(reply, BUS_ROW_DEVICE, sizeof(DeviceRow), device_row_read, (void **)&rows, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the device list: %m");

        if (c->json != JSON_OFF)
                return print_json(rows, n, c->json);
        return print_table(rows, n);
}

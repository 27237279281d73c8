/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl-util.h"
#include "ctl.h"
#include "iomem.h"
#include "macro.h"
#include "parse-util.h"

/* The commands that change something: online, offline, revert, unplug, cancel, reload, rescan. All are
 * root's; the bus policy and the daemon say so with AccessDenied or NotPermitted, which we print as they
 * come. */

/* Prints every block that failed; returns 1 (the exit status) if any did. */
static int print_results(sd_bus_message *reply)
{
        const char *message;
        uint32_t block;
        int ok, r;
        bool failed = false;

        r = sd_bus_message_enter_container(reply, 'a', BUS_ROW_RESULT);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the results: %m");
        while ((r = sd_bus_message_read(reply, BUS_ROW_RESULT, &block, &ok, &message)) > 0) {
                if (ok)
                        continue;
                log_error("memory%" PRIu32 ": %s", block, *message ? message : "failed");
                failed = true;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the results: %m");
        return failed ? EXIT_FAILURE : 0;
}

int ctl_call_blocks(Context *c, const char *method, const char *what)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        assert(c);
        assert(method);
        assert(what);

        r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, method);
        if (r < 0)
                return log_error_errno(r, "Failed to create the call: %m");
        r = sd_bus_message_append_array(m, 'u', c->blocks, c->n_blocks * sizeof(unsigned));
        if (r < 0)
                return log_error_errno(r, "Failed to create the call: %m");
        if (c->online_type) {
                r = sd_bus_message_append(m, "s", c->online_type);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the call: %m");
        }
        /* The daemon answers when every block is done, not when it has queued them. */
        r = sd_bus_call(c->bus, m, BLOCK_CALL_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, what);
        return print_results(reply);
}

int verb_online(Context *c)
{
        assert(c);

        return ctl_call_blocks(c, "OnlineBlocks", "online memory blocks");
}

int verb_offline(Context *c)
{
        assert(c);

        return ctl_call_blocks(c, "OfflineBlocks", "offline memory blocks");
}

/* RevertDevice and PrepareUnplug: one name in, a(ubs) out, after every block was offlined. */
static int call_device_raw(Context *c, const char *method, const char *target, sd_bus_error *error,
                           sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, method);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", target);
        if (r < 0)
                return r;
        /* Offlining migrates every page off the device first: that can take a while. */
        return sd_bus_call(c->bus, m, BLOCK_CALL_TIMEOUT_USEC, error, ret_reply);
}

static int device_done(Context *c, sd_bus_message *reply, const char *done)
{
        int r;

        r = print_results(reply);
        if (r == 0)
                printf("%s %s\n", c->device, done);
        return r;
}

static int call_device(Context *c, const char *method, const char *what, const char *done)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call_device_raw(c, method, c->device, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, what);
        return device_done(c, reply, done);
}

int verb_revert(Context *c)
{
        assert(c);

        return call_device(c, "RevertDevice", "return the device to devdax", "is devdax again.");
}

/* A daemon started without CAP_SYS_ADMIN cannot see /proc/iomem's addresses (it says so with
 * NotSupported); we run as root, so a virtio-mem device becomes its address range here. */
static int virtio_to_addresses(const char *name, char *buf, size_t size)
{
        _cleanup_(fclosep) FILE *f = NULL;
        uint64_t start, end;
        unsigned index;

        if (parse_sysname_index(name, "virtio", UINT_MAX, &index) < 0)
                return 0;
        f = fopen("/proc/iomem", "re");
        if (!f || iomem_find(f, name, &start, &end) < 0 || (start == 0 && end == 0))
                return 0; /* the daemon says what is wrong */
        snprintf(buf, size, "0x%" PRIx64 "-0x%" PRIx64, start, end);
        return 1;
}

int verb_unplug(Context *c)
{
        static const char what[] = "prepare the unplug";
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char range[64];
        int r;

        assert(c);

        r = call_device_raw(c, "PrepareUnplug", c->device, &error, &reply);
        if (r < 0 && sd_bus_error_has_name(&error, BUS_ERROR_NOT_SUPPORTED) &&
            virtio_to_addresses(c->device, range, sizeof(range)) > 0) {
                printf("%s is %s.\n", c->device, range);
                sd_bus_error_free(&error);
                r = call_device_raw(c, "PrepareUnplug", range, &error, &reply);
        }
        if (r < 0)
                return log_bus_error(r, &error, what);
        return device_done(c, reply, "is offline: it can be removed now (e.g. device_del, or the eject).");
}

static int call_simple(Context *c, const char *method, const char *what)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, method, &error, NULL, NULL);
        if (r < 0)
                return log_bus_error(r, &error, what);
        return 0;
}

int verb_cancel(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *what;
        uint32_t n, block;
        unsigned rows = 0;
        int stopped, r;

        assert(c);

        r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "CancelJob");
        if (r < 0)
                return log_error_errno(r, "Failed to create the call: %m");
        /* The answer comes when the write in flight has ended, as a block call's does. */
        r = sd_bus_call(c->bus, m, BLOCK_CALL_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, "cancel the job");
        r = sd_bus_message_read(reply, "u", &n);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', BUS_ROW_RESULT);
        while (r >= 0 && (r = sd_bus_message_read(reply, BUS_ROW_RESULT, &block, &stopped, &what)) > 0) {
                printf("memory%" PRIu32 ": %s\n", block, what);
                rows++;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply: %m");
        if (rows == 0)
                printf("Nothing to cancel: no block is being offlined.\n");
        else if (n == 0)
                printf("Nothing cancelled: the offlining under way ended before the cancel took effect.\n");
        else
                printf("Cancelled the offlining of %" PRIu32 " block(s); they stay online.\n", n);
        return 0;
}

int verb_reload(Context *c)
{
        assert(c);

        return call_simple(c, "Reload", "reload the configuration");
}

int verb_rescan(Context *c)
{
        assert(c);

        return call_simple(c, "Rescan", "rescan memory blocks");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "bus.h"
#include "devices.h"
#include "log.h"
#include "onliner.h"
#include "unplug.h"

/* PrepareUnplug(s target): offline every block of a DIMM, a virtio-mem device's region, a dax
 * device or a block range, from the top down, so that the memory can be removed. It shares the
 * offline path (and its timeout, progress signals and CancelJob) with OfflineBlocks. */

/* Every block offline: the a(ubs) rows. Else the error says which block holds it up and why (the
 * highest that failed, not one cancelled because of it). */
static int unplug_done(Manager *m, Request *q)
{
        size_t online = 0, blocker = SIZE_MAX;
        char reason[ONLINER_REASON_MAX];

        for (size_t i = q->n; i > 0; i--) {
                if (q->results[i - 1] >= 0)
                        continue;
                online++;
                if (blocker == SIZE_MAX ||
                    (q->results[blocker] == -ECANCELED && q->results[i - 1] != -ECANCELED))
                        blocker = i - 1;
        }
        if (online == 0) {
                log_info("%s is offline and can be removed%s", q->device,
                         q->whole_device ? " (its blocks removed with one write of unplugged to its state; "
                                           "the device stays bound to kmem)"
                                         : "");
                return request_reply(q);
        }
        (void)onliner_result_reason(m, q->indices[blocker], q->results[blocker], reason, sizeof(reason));
        if (q->whole_device) {
                log_warning("%s cannot be removed: writing unplugged to its state %s; the kernel put every "
                            "block back as it was",
                            q->device, reason);
                return sd_bus_reply_method_errorf(
                        q->message, BUS_ERROR_OFFLINE_FAILED,
                        "%s cannot be removed: writing unplugged to %s/state %s. The "
                        "kernel offlines a device's blocks all or none: all %zu "
                        "block(s) are as they were, and the device stays bound to kmem.",
                        q->device, q->device, reason, q->n);
        }
        log_warning("%s cannot be removed: memory%u %s; %zu of %zu block(s) stay online", q->device,
                    q->indices[blocker], reason, online, q->n);
        return sd_bus_reply_method_errorf(q->message, BUS_ERROR_OFFLINE_FAILED,
                                          "%s cannot be removed: memory%u holds it up: %s. %zu of %zu "
                                          "block(s) stay online; those offlined before stay offline.",
                                          q->device, q->indices[blocker], reason, online, q->n);
}

static int target_error(const char *target, int r, unsigned missing, sd_bus_error *error)
{
        switch (r) {
        case -EINVAL:
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "Invalid target \"%s\": expected an ACPI memory device (PNP0C80:NN), "
                        "a virtio-mem device (virtioN), a dax device (daxX.Y), blocks "
                        "(N, N-M, memoryN-memoryM) or addresses (0xSTART-0xEND).",
                        target);
        case -ENOENT:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_BLOCK, "Memory block %u does not exist.",
                                         missing);
        case -EPERM:
                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                                         "/proc/iomem does not show this daemon where %s is (it shows the "
                                         "addresses only to a daemon started with CAP_SYS_ADMIN); give its "
                                         "address range instead (memhotplugctl unplug %s does so itself).",
                                         target, target);
        case -ENODEV:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "%s does not exist or has no memory blocks.", target);
        default:
                return r;
        }
}

int bus_method_prepare_unplug(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) unsigned *blocks = NULL;
        Manager *m;
        unsigned missing = 0, index;
        const char *target;
        UnplugKind kind;
        size_t n;
        Request *q;
        int r;

        assert(message);
        assert(userdata);
        assert(error);

        m = userdata;

        r = bus_check_root(message, "prepare memory for unplug", error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &target);
        if (r < 0)
                return r;
        r = unplug_target_blocks(m, target, &kind, &blocks, &n, &missing);
        if (r < 0)
                return target_error(target, r, missing, error);
        /* Refuse before offlining anything: kernel zones hold allocations that never move, and
         * half an unplug only costs memory. */
        if (unplug_check_removable(m, blocks, n, &index) < 0)
                return sd_bus_error_setf(
                        error, BUS_ERROR_NOT_REMOVABLE,
                        "%s cannot be unplugged: memory%u is online in zone %s, which holds kernel "
                        "allocations that cannot be moved, so it is not removable. Memory is removable "
                        "when onlined movable (Online=movable); OfflineBlocks tries anyway.",
                        target, index, zone_to_string(m->blocks[index].zone));

        r = request_new(m, message, blocks, n, &q);
        if (r < 0)
                return r;
        q->on_done = unplug_done;
        q->stop_on_failure = true; /* once one block stays, the device stays: offline no more */
        q->device = strdup(target);
        if (!q->device)
                return -ENOMEM;
        /* Linux 7.3: a device with daxX.Y/state goes with one write, on the offline thread. */
        r = kind == UNPLUG_DAX ? devices_prepare_unplug(m, devices_find(m, target)) : -EOPNOTSUPP;
        if (r >= 0) {
                q->offline = q->whole_device = true;
                log_info("Preparing %s for unplug: writing unplugged to its state (memory%u-memory%u, %zu "
                         "block(s), all or none)",
                         target, blocks[0], blocks[n - 1], n);
                return 1;
        }
        if (r != -EOPNOTSUPP) {
                q->offline = true;
                for (size_t i = 0; i < n; i++)
                        request_settle(m, q, blocks[i], r);
                request_answer_if_done(m, q);
                return 1;
        }
        log_info("Preparing %s for unplug: offlining memory%u-memory%u (%zu block(s)), highest first",
                 target, blocks[0], blocks[n - 1], n);
        (void)request_offline_blocks(m, q);
        request_answer_if_done(m, q);
        return 1;
}

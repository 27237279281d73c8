/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The D-Bus contract between memhotplugd and its clients: names, paths, interfaces, error names
 * and the signatures of the rows that the list methods return. The daemon's vtables and
 * memhotplugctl both use these, so a change here is a change to the API (docs/org.memhotplug1.xml
 * is checked against the vtables by the unit tests). */

#define BUS_NAME          "org.memhotplug1"
#define BUS_PATH          "/org/memhotplug1"
#define BUS_BLOCK_PREFIX  "/org/memhotplug1/block"
#define BUS_DEVICE_PREFIX "/org/memhotplug1/device"
#define BUS_IFACE_MANAGER "org.memhotplug1.Manager"
#define BUS_IFACE_BLOCK   "org.memhotplug1.Block"
#define BUS_IFACE_DEVICE  "org.memhotplug1.Device"
/* systemd's, for systemctl service-log-level and service-log-target. */
#define BUS_LOG_CONTROL_PATH  "/org/freedesktop/LogControl1"
#define BUS_IFACE_LOG_CONTROL "org.freedesktop.LogControl1"

/* LimitsExceeded: the caller has too many replies it has not read yet (daemon/bus-budget.c): read
 * them, then ask again. */
#define BUS_ERROR_NO_SUCH_BLOCK       "org.memhotplug1.Error.NoSuchBlock"
#define BUS_ERROR_INVALID_ONLINE_TYPE "org.memhotplug1.Error.InvalidOnlineType"
#define BUS_ERROR_TOO_MANY_BLOCKS     "org.memhotplug1.Error.TooManyBlocks"
#define BUS_ERROR_CONFIG_INVALID      "org.memhotplug1.Error.ConfigInvalid"
#define BUS_ERROR_NOT_PERMITTED       "org.memhotplug1.Error.NotPermitted"
#define BUS_ERROR_NO_SUCH_DEVICE      "org.memhotplug1.Error.NoSuchDevice"
#define BUS_ERROR_DEVICE_BUSY         "org.memhotplug1.Error.DeviceBusy"
#define BUS_ERROR_NOT_SUPPORTED       "org.memhotplug1.Error.NotSupported"
#define BUS_ERROR_NOT_REMOVABLE       "org.memhotplug1.Error.NotRemovable"
#define BUS_ERROR_OFFLINE_FAILED      "org.memhotplug1.Error.OfflineFailed"
#define BUS_ERROR_SHUTTING_DOWN       "org.memhotplug1.Error.ShuttingDown"
#define BUS_ERROR_LIMITS_EXCEEDED     "org.memhotplug1.Error.LimitsExceeded"

/* ListBlocks: index, node, state, zone, physical start, size, removable, rule. */
#define BUS_ROW_BLOCK "(uissttbs)"
/* Plan: index, node, action, online type, zone, rule, reason, note. */
#define BUS_ROW_PLAN "(uissssss)"
/* Plan's note for a block whose onlining failed: memhotplugctl doctor lists these blocks. */
#define BUS_PLAN_NOTE_FAILED "failed before; retried on reload or rescan"
/* ListDevices: name, object path, target node, source, mode, memmap placement, resource, size,
 * blocks online, blocks in all, rule, reason, hotplug state (daxX.Y/state, "none" without it), and
 * whether the blocks agree with it. */
#define BUS_ROW_DEVICE "(soisssttuusssb)"
/* OnlineBlocks, OfflineBlocks, RevertDevice, PrepareUnplug: index, whether it succeeded, what
 * happened. CancelJob: index, whether the cancel stopped it (it stays online), what happened. */
#define BUS_ROW_RESULT "(ubs)"
/* BlockStatesChanged: index, state, zone ("" when offline). */
#define BUS_ROW_BLOCK_STATE "(uss)"
/* CapacityChanged's nodes: node, bytes online on it. */
#define BUS_ROW_NODE_BYTES "(ut)"
/* JobProgress: done, failed, total. */
#define BUS_JOB_PROGRESS "(uuu)"
/* NodePlacement: node (-1: the system), boot kernel, kernel, movable, memmap on the device (of
 * movable) and headroom (more that may go movable) in bytes, MovableRatio= in percent, NumaAware=;
 * then what the kernel's auto-movable rule compares: movable and kernel memory in bytes (virtio-mem
 * devices' movable memory left out, and the boot memory it needs). */
#define BUS_NODE_PLACEMENT "(itttttubtt)"
/* HotAddHeadroom: node (-1: the system), free and reserved memory in the kernel zones, the memmap's
 * bytes per page and the page size, the largest hot-add whose memmap fits and what of it may go
 * movable (in bytes), whether memory_hotplug.memmap_on_memory is on, the arithmetic in words. */
#define BUS_HOTADD_HEADROOM "(ittttttbs)"

/* Our error names and the errno each maps to, so that sd-bus turns them into -errno on either
 * side. Registered with sd_bus_error_add_map() by the daemon and by memhotplugctl. */
extern const sd_bus_error_map bus_error_map[];

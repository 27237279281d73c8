/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "time-util.h"

/* Every fixed time of the daemon, each with why it has that value. The times a user sets
 * (ChunkPauseSec=, RetrySec=, OfflineTimeoutSec=) are in the config, bounded in policy/config.h;
 * the comments where each of these is used say what it is for. */

/* Intake (intake.c) */

/* A scan after an allocation failed: long enough for memory pressure to ease, short next to a
 * hot-add. */
#define BLOCK_RETRY_USEC (1 * USEC_PER_SEC)
/* The poll for a new block's node link: the kernel links it within a few ms of its "add". */
#define NODE_WAIT_POLL_USEC (1 * USEC_PER_MSEC)
/* How long a block may wait for its node link: far past the few ms it takes, yet a stuck add
 * cannot hold the blocks behind it for long. */
#define NODE_WAIT_MAX_USEC (2 * USEC_PER_SEC)
/* How long a linked block waits for its ACPI memory device to claim it: the binding follows the
 * node links at once, and the block may belong to no such device at all. */
#define ACPI_WAIT_MAX_USEC (250 * USEC_PER_MSEC)
/* The uevent monitor (monitor.c), delegate's batching: the one wait for a quiet burst */

/* The socket's queue is read once it held still this long: short enough to go unnoticed, long
 * enough that a hot-add's uevents pile up instead of waking us one by one. */
#define BATCH_TICK_USEC (50 * USEC_PER_MSEC)
/* and at the latest this long after the first uevent, so a long hot-add is not left unread. */
#define BATCH_MAX_USEC (2 * USEC_PER_SEC)

/* Devices (devices.c) */

/* A dax device without its driver is looked at again after this: device_dax probes right after
 * the "add", and ten looks cover a slow probe. */
#define DRIVER_WAIT_USEC (100 * USEC_PER_MSEC)

/* Offlines (state-writer.c) and the stop (manager.c) */

/* The interrupt signal is sent again this often until the offline write ends: one sent before
 * the thread was inside write() is spent, and the kernel checks for it once per retry round. */
#define INTERRUPT_REPEAT_USEC (50 * USEC_PER_MSEC)
/* How long the exit waits for an offline write the kernel does not end on its signal: well below
 * systemd's TimeoutStopSec= (90 s) and WatchdogSec= (30 s), so the stop ends on our terms. */
#define STOP_WAIT_USEC (3 * USEC_PER_SEC)

/* The bus (bus-budget.c, bus-introspect.c) */

/* A client that has not answered our Ping in this long is pinged again (its charge stays): a
 * client that does not read costs us one ping per half minute, not a stream of them. */
#define BUDGET_PING_USEC (30 * USEC_PER_SEC)
/* --bus-introspect waits this long for its own in-process answer per turn: both ends are in one
 * thread, so it only has to yield briefly. */
#define INTROSPECT_WAIT_USEC (10 * USEC_PER_MSEC)

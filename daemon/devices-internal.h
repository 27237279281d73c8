/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dax.h"
#include "devices.h"

/* Shared by devices.c (the table, decisions, events) and devices-act.c (conversion and revert). */
int device_read(Manager *m, const char *name, DaxDevice **ret);
/* The block indices [*ret_first, *ret_end) that the device's memory spans. */
void device_block_span(const Manager *m, const Device *d, uint64_t *ret_first, uint64_t *ret_end);
void device_decide(Manager *m, Device *d);
/* Reads the device's record again (its driver or state changed under us); the decision stays. */
void device_refresh(Manager *m, Device *d);
/* Does what the decision says: convert, or log why the device stays as it is. */
int device_act(Manager *m, Device *d);
/* Decides again for the device's offline blocks, which waited for the device's decision. */
void device_reconsider_blocks(Manager *m, const Device *d);
/* Linux 7.3 (devices-hotplug.c). Onlines a kmem-bound device whose state file reads offline (all
 * blocks offline) or unplugged into its rule's zone with writes of daxX.Y/state: 1 when done that
 * way, 0 when its blocks take the block path (no file, a per-block Online=, a write that failed). */
int device_hotplug_online(Manager *m, Device *d);
/* Writes unplugged and checks that no block remains; the errno of the kernel's refusal, else. */
int device_hotplug_unplug(Manager *m, Device *d);
/* The devices left `unplugged` by PrepareUnplug, one empty file each under this directory of the
 * runtime directory, so that a restarted daemon does not take them back to their zone as it does a
 * device stopped between its two convert writes. A tmpfs: a reboot forgets them with the devices. */
#define UNPLUGGED_DEVICES_DIR "unplugged"
/* Creates (on) or removes the device's record; removing one that is not there is no error. */
int device_unplugged_record(Manager *m, const char *name, bool on);
/* The request is over (a zone written, RevertDevice, the device removed): flag and record go. */
void device_unplugged_forget(Manager *m, Device *d);
/* Reads the device's record into d->unplugged_on_request (a device just found). */
void device_unplugged_load(Manager *m, Device *d);
/* Test only: stops the daemon (SIGSTOP) when MEMHOTPLUGD_TEST_STOP_AFTER names this point. */
void device_hotplug_test_stop(const char *point);

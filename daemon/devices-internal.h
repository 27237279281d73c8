/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dax.h"
#include "devices.h"

/* Shared by devices.c (the table, decisions, events) and devices-act.c (conversion and revert). */
int device_read(Manager *m, const char *name, DaxDevice **ret);
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
/* Test only: stops the daemon (SIGSTOP) when MEMHOTPLUGD_TEST_STOP_AFTER names this point. */
void device_hotplug_test_stop(const char *point);

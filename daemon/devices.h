/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dax-hotplug.h"
#include "dax.h"
#include "dax-policy.h"
#include "manager.h"

/* Device-dax instances: the table, what the policy decided for each, conversion to system-ram
 * and back. */

/* How a device's blocks differ from what its daxX.Y/state says (the kernel does not follow block
 * writes, docs/KERNELS.md): each kind has its own way back, which the journal names. */
typedef enum DaxDisagreement {
        DAX_DISAGREE_NONE,
        DAX_DISAGREE_PRESENT, /* unplugged, yet blocks exist */
        DAX_DISAGREE_ONLINE,  /* offline, yet blocks are online: onlined block by block */
        DAX_DISAGREE_OFFLINE, /* online*, yet blocks are offline: offlined block by block */
        DAX_DISAGREE_ZONE,    /* online_kernel/online_movable, yet blocks are online in the other zone */
} DaxDisagreement;

typedef struct Device {
        struct DaxDevice *dax;
        DaxDecision decision;
        bool user_devdax;   /* returned to devdax on request: the policy leaves it alone */
        bool pending;       /* announced without a driver yet: its blocks wait for the kernel's bind */
        bool rebind_failed; /* REBIND could not be done: its blocks stay with the memmap they have */
        Zone zone;          /* the zone its blocks go into, once the first one is online */
        /* daxX.Y/state against its blocks (devices-report.c): */
        bool hotplug_stale;            /* to be read and judged again once the daemon is idle */
        bool hotplug_disagrees;        /* as last judged (never without the file) */
        DaxHotplug hotplug_announced;  /* the state the last PropertiesChanged had */
        DaxHotplug reported_state;     /* the disagreement the journal named last, with ... */
        DaxDisagreement reported_kind; /* ... its kind; DAX_DISAGREE_NONE once it agreed */
        /* Linux 7.3, a file reading offline: writes of daxX.Y/state did not take it to its zone (or
         * its memory was onlined block by block before), so its offline blocks take the block
         * path; until then they wait for the device's writes (blocks.c). */
        bool hotplug_by_block;
        /* Linux 7.3: left `unplugged` by PrepareUnplug: not taken back to its zone as a device found
         * between its two convert writes would be, while the file still reads so. */
        bool unplugged_on_request;
        /* ... and found so at start through its record (UNPLUGGED_DEVICES_DIR), not yet said. */
        bool unplugged_from_record;
} Device;

/* The devices the daemon knows, in the order it found them (devices.c writes it, the rest read). */
typedef struct DeviceTable {
        Device *list;
        size_t n;
        bool dax_possible; /* libdaxctl and libcxl can reach the tree (the sysfs root is /sys) */
} DeviceTable;

int device_table_new(Sysfs *s, DeviceTable **ret);
DeviceTable *device_table_free(DeviceTable *t);

int devices_scan(Manager *m);
/* After a reload: decide again for every device, and act where the new policy says so. */
void devices_reconsider(Manager *m);
void devices_on_uevent(Manager *m, const char *action, const char *sysname);
Device *devices_find(Manager *m, const char *name);
/* Linux 7.3: a write of daxX.Y/state made on the offline thread is over (the onliner's
 * device_written hook): what it means for the device, in the loop (devices-hotplug.c). For
 * PrepareUnplug's write, returns its result for every block of [*ret_first, *ret_end); else that
 * range is empty. */
int devices_hotplug_written(Manager *m, const DeviceWrite *w, int result, int interrupted,
                            uint64_t *ret_first, uint64_t *ret_end);
/* PrepareUnplug of a device with daxX.Y/state (Linux 7.3): one write of `unplugged` on the offline
 * thread, all or nothing. Its end comes as OUTCOME_HANDLED of every block of the device's range
 * [*ret_first, *ret_end) of devices_hotplug_written() (manager.c), with its one result. Errors:
 * -EOPNOTSUPP the device has no file (block by block, as on older kernels); -EBUSY a write of its
 * state is under way; what starting it failed with. */
int devices_prepare_unplug(Manager *m, Device *d);
/* The device whose memory this block is, if it is system RAM from a device. */
Device *devices_owner_of_block(Manager *m, unsigned index);
void devices_block_zone(Manager *m, Device *d, Zone zone);
/* The indices of the device's blocks that are present, in address order. */
int devices_blocks(Manager *m, const Device *d, unsigned **ret, size_t *ret_n);
/* The device's present blocks, how many are online and in which zones. */
void devices_tally_blocks(Manager *m, const Device *d, DaxBlockTally *ret);
void devices_count_blocks(Manager *m, const Device *d, unsigned *ret_online, unsigned *ret_total);
/* The whole-device hotplug state (devices-report.c). Marks the device to be judged again: its record
 * or one of its blocks changed. Cheap: the file is read once the daemon is idle. */
void devices_hotplug_touch(Manager *m, Device *d);
/* Every device (a device event, a conversion, a reload). */
void devices_hotplug_touch_all(Manager *m);
/* The block's device, if it has one; returns whether it did. */
bool devices_hotplug_touch_block(Manager *m, unsigned index);
/* Whether some device waits to be judged. */
bool devices_hotplug_stale(const Manager *m);
/* Once the daemon is idle (the outcome stage calls it, with no job under way): reads state again for
 * every touched device that has nothing pending, judges it against its blocks, announces a change and
 * reports a disagreement once. */
void devices_hotplug_refresh(Manager *m);

/* Returns a system-ram device whose blocks are all offline to devdax (-EBUSY if one is online). */
int devices_revert(Manager *m, Device *d);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dax-hotplug.h"
#include "dax-policy.h"
#include "sysfs.h"

/* Reading device-dax instances (bus/dax/devices/daxX.Y) through the sysfs module. */

typedef struct DaxDevice {
        char *name; /* "dax0.0" */
        char *path; /* below the sysfs root, resolved: "devices/platform/hmem.0/dax0.0" */
        DaxSource source;
        int target_node;
        uint64_t resource, size;
        DaxDriver driver;
        bool memmap_attr;      /* has memmap_on_memory (Linux 6.8+) */
        int memmap;            /* its value, -1 without the attribute */
        DaxHotplug hotplug;    /* state, while kmem-bound on Linux 7.3+; NONE without (or unknown) */
        char *cxl_region;      /* "region0" for CXL */
        uint64_t *cxl_serials; /* the memdevs the region interleaves (filled by cxl.c) */
        size_t n_cxl_serials;
        char *nvdimm_uuid; /* the namespace's, for NVDIMM */
} DaxDevice;

DaxDevice *dax_device_free(DaxDevice *d);
static inline void dax_device_freep(DaxDevice **d)
{
        dax_device_free(*d);
}

/* Every daxX.Y present, sorted by name. */
int dax_enumerate(Sysfs *s, char ***ret);
/* Fills a device's facts (not the CXL serials: those need libcxl). -EBADMSG and *ret_attr on a
 * value that does not parse. */
int dax_device_read(Sysfs *s, const char *name, DaxDevice **ret, const char **ret_attr);
/* Writes memmap_on_memory; the kernel takes it only while no driver is bound. */
int dax_write_memmap(Sysfs *s, const char *name, bool on);
/* Reads and writes state (kmem-bound, Linux 7.3+); -ENOENT without the file. A read of a word
 * this daemon does not know is -EBADMSG. */
int dax_read_hotplug(Sysfs *s, const char *name, DaxHotplug *ret);
int dax_write_hotplug(Sysfs *s, const char *name, DaxHotplug h);
/* Linux 7.3: a write of a dax device's daxX.Y/state made off the loop (onliner.h). It runs on the offline
 * thread, one at a time with the blocks' offlines, and no block is onlined while it runs: the kernel takes
 * device_hotplug_lock for each, and a write made in the loop meanwhile would spin on it there. */
typedef struct DeviceWrite {
        char name[32];         /* daxX.Y */
        char value[16];        /* unplugged, online_movable, ... */
        unsigned tag;          /* the caller's: what the write is for */
        uint64_t timeout_usec; /* 0: none; then it ends in -ETIMEDOUT (state-writer.h) */
        bool cancellable;      /* CancelJob interrupts it (-ECANCELED), as it does a block's offline */
} DeviceWrite;

/* The device's directory under bus/dax/devices, for a write of its state off the loop. */
int dax_open_device_dir(Sysfs *s, const char *name);
/* memory_hotplug.memmap_on_memory: Y or force. */
bool dax_memmap_global(Sysfs *s);
/* Where the memory comes from, from the device's resolved sysfs path. */
DaxSource dax_source_from_path(const char *path);
/* The facts the policy engine takes, pointing into d. */
void dax_device_facts(const DaxDevice *d, bool memmap_global, DaxFacts *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "platform.h"
#include "sysfs.h"
#include "virtio-mem.h"

/* The machine's facts for Online=platform, from sysfs under the daemon's root (so a test tree
 * is a bare-metal x86_64 machine unless it says otherwise) and uname(2): the DMI vendor,
 * /sys/hypervisor/type, and the balloon drivers bound to a device. */
int platform_facts_read(Sysfs *s, PlatformFacts *ret);

/* What the daemon finds out about the machine once, at start: what Online=platform means here, and
 * which blocks each virtio-mem device added (from the /proc/iomem opened with CAP_SYS_ADMIN). The
 * policy's decisions and the bus's PlatformDefault read it. */
typedef struct Platform {
        OnlineType online; /* what Online=platform means here, and why; "": not worked out yet */
        char reason[160];
        VirtioMemMap virtio_mem;   /* which blocks each virtio-mem device added (virtio-mem.c) */
        char virtio_mem_note[160]; /* why virtio-mem devices are not grouped; "" when they are */
} Platform;

int platform_new(Platform **ret);
Platform *platform_free(Platform *p);
/* Works out what Online=platform means here, once: 1 if it did now, 0 if it had. */
int platform_resolve(Platform *p, Sysfs *s);
/* Opens path (/proc/iomem) for the virtio-mem map; when it cannot, or the kernel hides the
 * addresses from it, the note says so. */
int platform_virtio_mem_open(Platform *p, const char *path, Sysfs *s, uint64_t block_size);

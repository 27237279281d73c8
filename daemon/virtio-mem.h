/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iomem.h"
#include "sysfs.h"

/* virtio-mem devices and the blocks each added. Sysfs does not say which device added a block;
 * /proc/iomem does, but shows its addresses only to a file opened with CAP_SYS_ADMIN. The daemon
 * opens it once at start, while it has the capability, keeps the file and reads it again from the
 * start when a block is not in the map yet (seq_file allows that), and then gives the capability up
 * (caps.c). See memhotplugd.conf(5), MEMORY GROUPS. */

typedef struct VirtioMemMap {
        int fd;          /* /proc/iomem as opened at start; -EBADF: none */
        bool hidden;     /* the kernel hides the addresses from that file: nothing can be mapped */
        size_t n_hidden; /* … and this many devices are there, whose blocks cannot be told */
        IomemVirtioMem *devices;
        size_t n_devices;
        int *of_block; /* by block index: the device's index in devices, or -1 */
        size_t n_blocks;
        uint64_t unit_blocks; /* the kernel's memory group unit, in blocks (1 but in Big Block Mode) */
        uint64_t seq;         /* counts the reads: what was worked out from the map is stale when it moves */
} VirtioMemMap;

/* Opens path (normally /proc/iomem; another file for tests) and reads it once. */
int virtio_mem_open(const char *path, Sysfs *s, uint64_t block_size, VirtioMemMap *ret);
/* Reads the kept file again from its start. */
int virtio_mem_read(VirtioMemMap *v, Sysfs *s, uint64_t block_size);
void virtio_mem_done(VirtioMemMap *v);
/* The device that added the block: an index in v->devices, or -1. */
int virtio_mem_device_of(const VirtioMemMap *v, unsigned index);
/* The device's region, by name ("virtio5"); NULL if there is none. */
const IomemVirtioMem *virtio_mem_find(const VirtioMemMap *v, const char *name);

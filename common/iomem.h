/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* /proc/iomem: where a driver's memory is. virtio-mem names the region it manages after its
 * device ("virtio5"), with the System RAM it added nested below ("System RAM (virtio_mem)"; the
 * kernel merges adjacent additions, so one such range is one or more runs of what the driver added,
 * not its unit). The kernel shows the addresses only to a file opened with CAP_SYS_ADMIN; others
 * read zeros (0-0). */

#define IOMEM_VIRTIO_MEM_RAM "System RAM (virtio_mem)"

/* The first resource named name, at any depth: its first and last byte. -ENOENT if none, -EBADMSG
 * on a line that does not parse. */
int iomem_find(FILE *f, const char *name, uint64_t *ret_start, uint64_t *ret_end);

typedef struct IomemRange {
        uint64_t start, end; /* first and last byte */
} IomemRange;

/* A virtio-mem device: its region and the System RAM it added so far. */
typedef struct IomemVirtioMem {
        char name[24]; /* "virtio5" */
        IomemRange region;
        IomemRange *ram;
        size_t n_ram;
} IomemVirtioMem;

/* Every resource named virtioN, with the System RAM (virtio_mem) below it (none: a device whose
 * memory is all unplugged). *ret_hidden says every line read 0-0: the file was opened without
 * CAP_SYS_ADMIN and the kernel hid the addresses. -EBADMSG on a line that does not parse. */
int iomem_read_virtio_mem(FILE *f, IomemVirtioMem **ret, size_t *ret_n, bool *ret_hidden);
void iomem_virtio_mem_free(IomemVirtioMem *l, size_t n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

/* /proc/iomem: where a driver's memory is. virtio-mem names the region it manages after its
 * device ("virtio5"), with the System RAM it added nested below. The kernel shows the addresses
 * only to a reader with CAP_SYS_ADMIN; others read zeros (0-0). */

/* The first resource named name, at any depth: its first and last byte. -ENOENT if none, -EBADMSG
 * on a line that does not parse. */
int iomem_find(FILE *f, const char *name, uint64_t *ret_start, uint64_t *ret_end);

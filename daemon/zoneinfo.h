/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "headroom.h"

/* /proc/zoneinfo: every zone's free pages, high watermark and protection (lowmem_reserve), for the
 * headroom. Every CPU adds some 120 bytes to every populated zone (its pageset): 16 MiB holds 1024
 * CPUs on 32 nodes; past it the read fails and the headroom is not shown. */
#define ZONEINFO_READ_MAX ((size_t)16 << 20)

/* Reads path (normally /proc/zoneinfo) into *ret, one entry a zone, in the file's order; -ENOENT
 * where it is missing, -EBADMSG on a line that starts a zone and cannot be read. */
int zoneinfo_read(const char *path, HeadroomZone **ret, size_t *ret_n);

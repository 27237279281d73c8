/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "headroom.h"

/* /proc/zoneinfo: every zone's free pages, high watermark and protection (lowmem_reserve), for the
 * headroom. Every CPU adds lines to every zone (its pageset): far above a 4 KiB-a-CPU machine's. */
#define ZONEINFO_READ_MAX ((size_t)64 << 20)

/* Reads path (normally /proc/zoneinfo) into *ret, one entry a zone, in the file's order; -ENOENT
 * where it is missing, -EBADMSG on a line that starts a zone and cannot be read. */
int zoneinfo_read(const char *path, HeadroomZone **ret, size_t *ret_n);

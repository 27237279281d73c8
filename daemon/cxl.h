/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CXL provenance through libcxl: the serial numbers of the memory devices behind a region.
 * libcxl reads /sys itself, so this works on the real tree (or a umockdev testbed) only. */
int cxl_region_serials(const char *region, uint64_t **ret, size_t *ret_n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Longest string format_bytes() writes, with its NUL: "1023.9E". */
#define FORMAT_BYTES_MAX 16

/* Sizes the way lsmem(1) writes them: "128M", "1.5G", "0B" (powers of 1024, one decimal at most).
 * Shared by the client's tables and the daemon's reasons, so both print a size alike. */
const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

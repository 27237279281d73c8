/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

/* Value parsers shared by the config file and sysfs readers. All return 0 or negative errno
 * (-EINVAL for text that is not a number, -ERANGE for one that does not fit) and leave *ret
 * untouched on failure. Numbers are decimal digits only: no blanks, sign, 0x, exponent or
 * trailing text (docs/memhotplugd.conf.5, "NUMBERS"). */
int parse_boolean(const char *s, bool *ret);
int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret);
int parse_sec(const char *s, uint64_t *ret_usec);
int parse_hex_u64(const char *s, uint64_t *ret);
int parse_u64(const char *s, uint64_t *ret);
/* "64G", "512M", "1024": bytes, with K, M, G, T or P as powers of 1024. */
int parse_size(const char *s, uint64_t *ret);
/* "1G-64G", "-64G", "16G-": an inclusive range, either end open. */
int parse_size_range(const char *s, uint64_t *ret_min, uint64_t *ret_max);
int parse_log_level(const char *s, int *ret);
const char *log_level_to_string(int level);
int parse_sysname_index(const char *sysname, const char *prefix, unsigned *ret);
/* "0-2,5" (a nodelist, a cpulist): set[i] for each i listed, -ERANGE for one >= n. */
int parse_index_list(const char *s, bool *set, size_t n);

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
/* "memory42" with prefix "memory" -> 42: a name the kernel made with "%u", so digits without a
 * leading zero ("memory042" would alias memory42), at most max (-ERANGE past it). */
int parse_sysname_index(const char *sysname, const char *prefix, unsigned max, unsigned *ret);

/* The largest memory block and NUMA node numbers a Linux kernel gives (why: parse-util.c). Every
 * block or node number taken from a sysfs name or a uevent enters through these two parsers, so
 * nothing past them is ever used as an index. -EINVAL: not such a name; -ERANGE: such a name
 * with a number no kernel gives. */
#define BLOCK_INDEX_MAX ((1U << 27) - 1)
#define NODE_INDEX_MAX  1023U
int parse_block_name(const char *name, unsigned *ret);
int parse_node_name(const char *name, unsigned *ret);
/* "0-2,5" (a nodelist, a cpulist): set[i] for each i listed, -ERANGE for one >= n. */
int parse_index_list(const char *s, bool *set, size_t n);

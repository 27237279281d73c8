/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

/* Value parsers shared by the config file and sysfs readers. All return 0 or negative errno and
 * leave *ret untouched on failure. */
int parse_boolean(const char *s, bool *ret);
int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret);
int parse_sec(const char *s, uint64_t *ret_usec);
int parse_hex_u64(const char *s, uint64_t *ret);
int parse_u64(const char *s, uint64_t *ret);
int parse_log_level(const char *s, int *ret);
const char *log_level_to_string(int level);
int parse_sysname_index(const char *sysname, const char *prefix, unsigned *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Other agents that would online memory or convert dax devices behind our back: udev rules that
 * write a memory block's state, and daxctl's own hook. */

typedef struct RacingRule {
        char *path;       /* the rules file in effect */
        char *mask;       /* the path that masks it: DIR/NAME -> /dev/null in the first directory */
        const char *what; /* NULL when the file was not read */
        int error;        /* why not: -EFBIG over READ_MAX_UDEV_RULES, -EBADFD not a regular file, … */
} RacingRule;

#define UDEV_RULES_DIRS_DEFAULT "/etc/udev/rules.d:/run/udev/rules.d:/usr/lib/udev/rules.d:/lib/udev/rules.d"

/* dirs: colon-separated, highest priority first (udev's order: a file in an earlier directory
 * hides one of the same name in a later one; a link to /dev/null masks it). The list has the files
 * that race us and those that could not be read (error set), for the caller to warn about. */
int agents_find_racing_rules(const char *dirs, RacingRule **ret, size_t *ret_n);
void racing_rules_free(RacingRule *l, size_t n);

/* What the text of a rules file does that races us, or NULL (for the fuzzer and the tests). */
const char *agents_rules_races(const char *text, size_t size);

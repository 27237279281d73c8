/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* NULL-terminated arrays of strings that own their elements. */
char **strv_free(char **l);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
/* Appends s itself to *l, which holds *n strings (counted by the caller, so a long list grows in
 * linear time); s is freed on failure, and NULL (a failed strdup) is -ENOMEM. */
int strv_consume(char ***l, size_t *n, char *s);

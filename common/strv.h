/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* NULL-terminated arrays of strings that own their elements. */
char **strv_free(char **l);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
size_t strv_length(char *const *l);
/* Appends a copy of s; -ENOMEM leaves *l as it was. */
int strv_extend(char ***l, const char *s);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <string.h>
#include <sys/types.h>

/* The words of an enum, kept in one table indexed by the enum and read both ways:
 *
 *     static const char *const online_type_table[_ONLINE_TYPE_MAX] = { [ONLINE_TYPE_OFFLINE] = "offline", …
 * }; DEFINE_STRING_TABLE_LOOKUP(online_type, OnlineType);
 *
 * gives online_type_to_string() (NULL when out of range) and online_type_from_string() (the
 * enum's _INVALID value, which must be -EINVAL, for a word not in the table or NULL). */

static inline ssize_t string_table_lookup(const char *const *table, size_t n, const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (ssize_t)i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE_TO_STRING(name, type)                                                           \
        const char *name##_to_string(type i)                                                                \
        {                                                                                                   \
                if ((size_t)i >= sizeof(name##_table) / sizeof(name##_table[0]))                            \
                        return NULL;                                                                        \
                return name##_table[i];                                                                     \
        }

#define DEFINE_STRING_TABLE_FROM_STRING(name, type)                                                         \
        type name##_from_string(const char *s)                                                              \
        {                                                                                                   \
                return (type)string_table_lookup(name##_table,                                              \
                                                 sizeof(name##_table) / sizeof(name##_table[0]), s);        \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                              \
        DEFINE_STRING_TABLE_TO_STRING(name, type)                                                           \
        DEFINE_STRING_TABLE_FROM_STRING(name, type)

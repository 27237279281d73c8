/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

int strv_extend(char ***l, const char *s)
{
        size_t n = strv_length(*l);
        char *copy, **nl;

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

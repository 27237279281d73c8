/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Config files written into a test's temporary directory. The including test defines
 * "static char dir[]" (a mkdtemp() template) before including this. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "macro.h"

static char *write_file(const char *name, const char *content)
{
        char *path;
        FILE *f;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        f = fopen(path, "we");
        if (!f)
                abort();
        fputs(content, f);
        fclose(f);
        return path;
}

/* n times c, as a string. */
_unused_ static char *repeat(char c, size_t n)
{
        char *s = malloc(n + 1);

        if (!s)
                abort();
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

/* Loads content as the main file; returns the error text (or NULL) and the config through ret. */
_unused_ static int load(const char *content, Config **ret, char **ret_error)
{
        _cleanup_(freep) char *path = write_file("main.conf", content);

        return config_load(path, true, ret, ret_error);
}

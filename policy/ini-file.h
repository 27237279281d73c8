/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "macro.h"

/* inih with what it lacks: line numbers in every error, and errors as text for the caller. */

typedef struct IniFile {
        void *userdata;
        const char *path;
        FILE *file;
        unsigned line;
        bool line_complete;
        char *error;
        unsigned error_line;
} IniFile;

/* handler is an inih handler whose user argument is the IniFile (userdata inside). It returns 1,
 * or ini_fail(). On failure, *ret_error is "path:line: what". */
int ini_file_parse(const char *path, int (*handler)(void *, const char *, const char *, const char *),
                   void *userdata, char **ret_error);

/* Records the first error of the file at the current line; returns 0 for inih. */
_printf_(2, 3) int ini_fail(IniFile *s, const char *fmt, ...);

/* The *.conf files in dir, as paths, sorted by name; an absent directory is an empty list. */
int ini_list_conf_files(const char *dir, char ***ret);

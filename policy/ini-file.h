/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "macro.h"
#include "strv.h"

/* inih with what it lacks: line numbers in every error, errors as text for the caller, no silent
 * truncation of long lines, and only regular files read. */

/* Bounds on what one file may be: a config file is small, and a bound keeps a mistake (a log
 * file named *.conf) from costing the daemon memory or time. */
#define INI_FILE_SIZE_MAX (UINT64_C(1) << 20)
/* Drop-ins collected from all directories of one search, after masking. */
#define INI_CONF_FILES_MAX 1024

typedef struct IniFile {
        void *userdata;
        const char *path;
        FILE *file;
        unsigned line; /* of the line last handed to inih, from 1 */
        char *buf;     /* the whole line, as getline() read it */
        size_t buf_size;
        uint64_t bytes; /* read so far */
        int read_error; /* negative errno of a failed read */
        char *error;
        unsigned error_line;
} IniFile;

/* handler is an inih handler whose user argument is the IniFile (userdata inside). It returns 1,
 * or ini_fail(). On failure, *ret_error is "path:line: what" or "path: what". Returns 0 when the
 * file was parsed, 1 when it is a link to /dev/null (masked: nothing read), negative errno. A line
 * longer than inih can hold whole, a NUL byte, a file over INI_FILE_SIZE_MAX and anything but a
 * regular file are errors. */
int ini_file_parse(const char *path, int (*handler)(void *, const char *, const char *, const char *),
                   void *userdata, char **ret_error);

/* Records the first error of the file at the current line; returns 0 for inih. */
_printf_(2, 3) int ini_fail(IniFile *s, const char *fmt, ...);

/* The *.conf files of the NULL-terminated dirs (highest priority first), systemd's way: a name in
 * an earlier directory hides the same name in later ones, a link to /dev/null hides it for good,
 * and the survivors are sorted by file name across all directories. Absent directories are empty.
 * On failure *ret_error is the message and *ret_error_dir (if not NULL) the directory at fault. */
int ini_conf_files_list(const char *const *dirs, char ***ret, char **ret_error, const char **ret_error_dir);

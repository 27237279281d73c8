/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl-util.h"

void log_error(const char *format, ...)
{
        va_list ap;

        assert(format);

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int log_error_errno(int r, const char *format, ...)
{
        va_list ap;

        assert(format);

        fprintf(stderr, "%s: ", program_invocation_short_name);
        /* glibc's %m reads errno; set it from r so the message says what r says. */
        errno = r < 0 ? -r : r;
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

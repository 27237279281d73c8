/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "format-util.h"
#include "macro.h"
#include "strv.h"

/* Messages for the person at the terminal, prefixed with the program name, on stderr. */
void log_error(const char *format, ...) _printf_(1, 2);
/* The same, with %m meaning strerror(-r); returns r so that callers can "return log_error_errno(…)". */
int log_error_errno(int r, const char *format, ...) _printf_(2, 3);

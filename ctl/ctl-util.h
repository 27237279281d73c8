/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "strv.h"

/* Longest string format_bytes() writes, with its NUL: "1023.9E". */
#define FORMAT_BYTES_MAX 16

/* Messages for the person at the terminal, prefixed with the program name, on stderr. */
void log_error(const char *format, ...) _printf_(1, 2);
/* The same, with %m meaning strerror(-r); returns r so that callers can "return log_error_errno(…)". */
int log_error_errno(int r, const char *format, ...) _printf_(2, 3);

/* Sizes the way lsmem(1) writes them: "128M", "1.5G", "0B" (powers of 1024, one decimal at most). */
const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

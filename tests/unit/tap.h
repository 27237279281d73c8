/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal TAP producer: meson reads the plan and the ok/not ok lines. */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static inline bool tap_ok(bool ok, const char *fmt, ...)
{
        va_list ap;

        printf("%sok %u - ", ok ? "" : "not ", ++tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!ok)
                tap_failed++;
        return ok;
}

#define tap_is_int(got, want, ...)                                                                          \
        ({                                                                                                  \
                long long _g = (got), _w = (want);                                                          \
                bool _ok = tap_ok(_g == _w, __VA_ARGS__);                                                   \
                if (!_ok)                                                                                   \
                        printf("#   got %lld, want %lld\n", _g, _w);                                        \
                _ok;                                                                                        \
        })

#define tap_is_str(got, want, ...)                                                                          \
        ({                                                                                                  \
                const char *_g = (got), *_w = (want);                                                       \
                bool _ok = tap_ok(_g && _w ? strcmp(_g, _w) == 0 : _g == _w, __VA_ARGS__);                  \
                if (!_ok)                                                                                   \
                        printf("#   got \"%s\", want \"%s\"\n", _g ? _g : "(null)", _w ? _w : "(null)");    \
                _ok;                                                                                        \
        })

static inline int tap_done(void)
{
        printf("1..%u\n", tap_n);
        return tap_failed ? 1 : 0;
}

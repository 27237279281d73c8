/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "format-util.h"

const char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes)
{
        static const char suffixes[] = "BKMGTPE";
        unsigned exp = 0;
        uint64_t unit = 1, whole, tenths;

        assert(buf);

        while (exp + 1 < sizeof(suffixes) - 1 && bytes / unit >= 1024) {
                unit *= 1024;
                exp++;
        }
        whole = bytes / unit;
        /* Rounded to the nearest tenth; where that makes 1024 of a unit, one of the next (lsmem
         * would print "1024M" for a gigabyte less a byte). */
        tenths = exp == 0 ? 0 : ((bytes % unit) * 10 + unit / 2) / unit;
        if (tenths == 10) {
                whole++;
                tenths = 0;
        }
        if (whole == 1024 && exp + 1 < sizeof(suffixes) - 1) {
                whole = 1;
                exp++;
        }
        if (tenths == 0)
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 "%c", whole, suffixes[exp]);
        else
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 ".%" PRIu64 "%c", whole, tenths, suffixes[exp]);
        return buf;
}

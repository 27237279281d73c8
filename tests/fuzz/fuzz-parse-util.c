/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse-util.h"

/* The value parsers: the first byte picks one, the rest is its text. Besides crashes, checks
 * that failures leave the output alone and that decimal numbers read back as printed. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s, buf[32];
        uint64_t u = 42, v = 42;
        unsigned x = 42;
        bool b = false;
        int l = 42, r;

        if (size < 1)
                return 0;
        s = strndup((const char *)data + 1, size - 1);
        if (!s)
                return 0;

        switch (data[0] % 9) {
        case 0:
                parse_boolean(s, &b);
                break;
        case 1:
                r = parse_unsigned(s, 1, 1000, &x);
                if ((r < 0 && x != 42) || (r >= 0 && (x < 1 || x > 1000)))
                        abort();
                break;
        case 2:
                r = parse_sec(s, &u);
                if (r < 0 && u != 42)
                        abort();
                break;
        case 3:
                r = parse_hex_u64(s, &u);
                if (r < 0 && u != 42)
                        abort();
                break;
        case 4:
                r = parse_u64(s, &u);
                if (r < 0 && u != 42)
                        abort();
                if (r >= 0) {
                        /* Decimal only: printed and read again, the same number. */
                        snprintf(buf, sizeof(buf), "%" PRIu64, u);
                        if (parse_u64(buf, &v) < 0 || v != u)
                                abort();
                }
                break;
        case 5:
                r = parse_size(s, &u);
                if (r < 0 && u != 42)
                        abort();
                break;
        case 6:
                r = parse_size_range(s, &u, &v);
                if ((r < 0 && (u != 42 || v != 42)) || (r >= 0 && u > v))
                        abort();
                break;
        case 7:
                if (parse_log_level(s, &l) >= 0 && !log_level_to_string(l))
                        abort();
                break;
        case 8:
                /* Whatever the name, a block number past the bound never comes out, and the name
                 * reads back as the kernel would print it. */
                r = parse_block_name(s, &x);
                if ((r < 0 && x != 42) || (r >= 0 && x > BLOCK_INDEX_MAX))
                        abort();
                if (r >= 0) {
                        snprintf(buf, sizeof(buf), "memory%u", x);
                        if (strcmp(buf, s) != 0)
                                abort();
                }
                break;
        }
        free(s);
        return 0;
}

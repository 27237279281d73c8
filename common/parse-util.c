/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "macro.h"
#include "parse-util.h"
#include "string-table.h"

static bool isdigit_ascii(char c)
{
        /* isdigit() follows the locale; a config file does not. */
        return c >= '0' && c <= '9';
}

int parse_boolean(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        assert(s);
        assert(ret);

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* One grammar for every number a config file holds: ASCII decimal digits and nothing else. strtoul()
 * and strtod() would take leading blanks, a sign (wrapping around), "0x" (hex), a leading 0
 * (octal), exponents, "inf" and hex floats: "010G" was 8 GiB, "RetrySec=1e3" 1000 s. Leading
 * zeros are allowed and mean nothing. Stores the value and where the digits end. */
static int parse_digits(const char *s, uint64_t *ret, const char **ret_end)
{
        uint64_t v = 0;
        const char *p = s;

        if (!s || !isdigit_ascii(*p))
                return -EINVAL;
        for (; isdigit_ascii(*p); p++) {
                unsigned d = (unsigned)(*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        *ret_end = p;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
        const char *end;
        uint64_t v;
        int r;

        assert(s);
        assert(ret);

        r = parse_digits(s, &v, &end);
        if (r < 0)
                return r;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        uint64_t v;
        int r;

        assert(s);
        assert(ret);

        r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

/* Hex is for sysfs (block_size_bytes, phys_index) and CXL serials as cxl list prints them. */
int parse_hex_u64(const char *s, uint64_t *ret)
{
        uint64_t v = 0;
        const char *p;

        assert(s);
        assert(ret);

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        if (!isxdigit((unsigned char)*s))
                return -EINVAL;
        for (p = s; *p; p++) {
                unsigned d;

                if (isdigit_ascii(*p))
                        d = (unsigned)(*p - '0');
                else if (*p >= 'a' && *p <= 'f')
                        d = (unsigned)(*p - 'a' + 10);
                else if (*p >= 'A' && *p <= 'F')
                        d = (unsigned)(*p - 'A' + 10);
                else
                        return -EINVAL;
                if (v > UINT64_MAX >> 4)
                        return -ERANGE;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

/* Seconds as systemd writes them: "2", "1.5", "500ms", "2s", "1min", "100us". The fraction is
 * decimal digits after one '.', with digits on both sides; what is finer than a microsecond is
 * dropped. */
int parse_sec(const char *s, uint64_t *ret_usec)
{
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "", USEC_PER_SEC },    { "s", USEC_PER_SEC },        { "sec", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC }, { "msec", USEC_PER_MSEC },    { "us", 1 },
                { "usec", 1 },           { "min", 60 * USEC_PER_SEC },
        };
        const char *end, *frac = NULL, *frac_end = NULL;
        uint64_t whole;
        int r;

        assert(s);
        assert(ret_usec);

        r = parse_digits(s, &whole, &end);
        if (r < 0)
                return r;
        if (*end == '.') {
                frac = end + 1;
                for (frac_end = frac; isdigit_ascii(*frac_end); frac_end++)
                        ;
                if (frac_end == frac)
                        return -EINVAL;
                end = frac_end;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                uint64_t usec, scale = units[i].usec;

                if (strcmp(end, units[i].suffix) != 0)
                        continue;
                if (whole > UINT64_MAX / scale)
                        return -ERANGE;
                usec = whole * scale;
                /* Each fraction digit is worth a tenth of the one before; stop below 1 us. */
                for (const char *p = frac; p && p < frac_end && scale >= 10; p++) {
                        scale /= 10;
                        if (usec > UINT64_MAX - (uint64_t)(*p - '0') * scale)
                                return -ERANGE;
                        usec += (uint64_t)(*p - '0') * scale;
                }
                *ret_usec = usec;
                return 0;
        }
        return -EINVAL;
}

/* "64G", "512M", "1024": decimal bytes with an optional K, M, G, T or P (powers of 1024, either
 * case) written alone or followed by "i", "B" or "iB". */
int parse_size(const char *s, uint64_t *ret)
{
        static const char suffixes[] = "KMGTP";
        const char *end, *p;
        uint64_t v;
        int r;

        assert(s);
        assert(ret);

        r = parse_digits(s, &v, &end);
        if (r < 0)
                return r;
        if (*end == '\0') {
                *ret = v;
                return 0;
        }
        p = strchr(suffixes, toupper((unsigned char)*end));
        if (!p ||
            !(streq(end + 1, "") || streq(end + 1, "i") || streq(end + 1, "B") || streq(end + 1, "iB")))
                return -EINVAL;
        for (const char *q = suffixes; q <= p; q++) {
                if (v > UINT64_MAX / 1024)
                        return -ERANGE;
                v *= 1024;
        }
        *ret = v;
        return 0;
}

int parse_size_range(const char *s, uint64_t *ret_min, uint64_t *ret_max)
{
        _cleanup_(freep) char *lo = NULL;
        const char *dash;
        uint64_t min = 0, max = UINT64_MAX;
        int r;

        assert(s);
        assert(ret_min);
        assert(ret_max);

        dash = strchr(s, '-');
        if (!dash)
                return -EINVAL;
        lo = strndup(s, dash - s);
        if (!lo)
                return -ENOMEM;
        if (!lo[0] && !dash[1])
                return -EINVAL;
        if (lo[0]) {
                r = parse_size(lo, &min);
                if (r < 0)
                        return r;
        }
        if (dash[1]) {
                r = parse_size(dash + 1, &max);
                if (r < 0)
                        return r;
        }
        if (min > max)
                return -ERANGE;
        *ret_min = min;
        *ret_max = max;
        return 0;
}

static const char *const log_level_table[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

DEFINE_STRING_TABLE_TO_STRING(log_level, int);

int parse_log_level(const char *s, int *ret)
{
        ssize_t i;

        assert(s);
        assert(ret);

        /* systemd also accepts "error"; users type it. */
        i = streq(s, "error") ? LOG_ERR
                              : string_table_lookup(log_level_table, ELEMENTSOF(log_level_table), s);
        if (i < 0)
                return -EINVAL;
        *ret = (int)i;
        return 0;
}

int parse_sysname_index(const char *sysname, const char *prefix, unsigned max, unsigned *ret)
{
        const char *digits;
        size_t n;

        assert(sysname);
        assert(prefix);
        assert(ret);

        n = strlen(prefix);
        digits = sysname + n;
        if (strncmp(sysname, prefix, n) != 0 || (digits[0] == '0' && digits[1] != '\0'))
                return -EINVAL;
        return parse_unsigned(digits, 0, max, ret);
}

/* A block's number is its physical address divided by the block size, and a block is at least one
 * memory section. The most physical address bits any architecture has, less its section bits:
 * ppc64 51 - 24 (16 MiB sections), x86-64 52 - 27 (5-level paging, 128 MiB sections), arm64
 * 52 - 27, s390 53 - 28. So no block number reaches 2^27, and the block table (8 bytes a block)
 * never grows past 1 GiB whatever a name says (4294967295 wrapped "index + 1" to 0). */
int parse_block_name(const char *name, unsigned *ret)
{
        assert(name);
        assert(ret);

        return parse_sysname_index(name, "memory", BLOCK_INDEX_MAX, ret);
}

/* MAX_NUMNODES is 1 << CONFIG_NODES_SHIFT, and NODES_SHIFT is at most 10 on every architecture. */
int parse_node_name(const char *name, unsigned *ret)
{
        assert(name);
        assert(ret);

        return parse_sysname_index(name, "node", NODE_INDEX_MAX, ret);
}

/* A kernel list such as a nodelist or cpulist: "0-2,5", or "" for none. Each listed number gets
 * set[i] = true; a number >= n is -ERANGE, so a short table never reads past its end. */
int parse_index_list(const char *s, bool *set, size_t n)
{
        char buf[16];

        assert(s);
        assert(set);

        while (*s) {
                size_t len = strcspn(s, ",");
                unsigned lo, hi;
                char *dash;
                int r;

                if (len == 0 || len >= sizeof(buf))
                        return -EINVAL;
                memcpy(buf, s, len);
                buf[len] = '\0';
                dash = strchr(buf, '-');
                if (dash)
                        *dash = '\0';
                r = parse_unsigned(buf, 0, UINT_MAX, &lo);
                if (r < 0)
                        return r;
                hi = lo;
                if (dash) {
                        r = parse_unsigned(dash + 1, lo, UINT_MAX, &hi);
                        if (r < 0)
                                return r;
                }
                if (hi >= n)
                        return -ERANGE;
                for (unsigned i = lo; i <= hi; i++)
                        set[i] = true;
                s += len;
                if (*s == ',' && *++s == '\0')
                        return -EINVAL;
        }
        return 0;
}

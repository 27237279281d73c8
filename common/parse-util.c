/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

int parse_boolean(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

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

/* strtoul() accepts leading blanks and a minus sign (wrapping around); a config value must not. */
static int parse_u64_base(const char *s, int base, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !isxdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno == ERANGE)
                return -ERANGE;
        if (end == s || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        uint64_t v;
        int r;

        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        r = parse_u64_base(s, 10, &v);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        return parse_u64_base(s, 10, ret);
}

int parse_hex_u64(const char *s, uint64_t *ret)
{
        if (s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        return parse_u64_base(s, 16, ret);
}

/* Seconds as systemd writes them: "2", "1.5", "500ms", "2s", "1min", "100us". */
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
        char *end;
        double v;

        if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(end, units[i].suffix) != 0)
                        continue;
                v *= (double)units[i].usec;
                if (v >= (double)UINT64_MAX / 2)
                        return -ERANGE;
                *ret_usec = (uint64_t)(v + 0.5);
                return 0;
        }
        return -EINVAL;
}

static const char *const log_level_table[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

DEFINE_STRING_TABLE_TO_STRING(log_level, int);

int parse_log_level(const char *s, int *ret)
{
        /* systemd also accepts "error"; users type it. */
        ssize_t i = streq_ptr(s, "error")
                            ? LOG_ERR
                            : string_table_lookup(log_level_table, ELEMENTSOF(log_level_table), s);

        if (i < 0)
                return -EINVAL;
        *ret = (int)i;
        return 0;
}

/* "memory42" with prefix "memory" -> 42. */
int parse_sysname_index(const char *sysname, const char *prefix, unsigned *ret)
{
        size_t n = strlen(prefix);

        if (strncmp(sysname, prefix, n) != 0)
                return -EINVAL;
        return parse_unsigned(sysname + n, 0, UINT_MAX, ret);
}

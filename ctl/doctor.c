/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doctor.h"
#include "read-file.h"
#include "string-table.h"

static const char *const severity_table[_SEVERITY_MAX] = {
        [SEVERITY_OK] = "ok",
        [SEVERITY_INFO] = "info",
        [SEVERITY_WARNING] = "warning",
        [SEVERITY_ERROR] = "error",
};

const char *severity_to_string(Severity s)
{
        return s >= 0 && s < _SEVERITY_MAX ? severity_table[s] : NULL;
}

void doctor_done(Doctor *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_findings; i++) {
                free(d->findings[i].text);
                free(d->findings[i].fix);
        }
        free(d->findings);
        free(d->daemon.mode);
        free(d->release);
        free(d->kconfig);
        free(d->kconfig_from);
        free(d->cmdline);
        *d = (Doctor){ .root = d->root, .privileged = d->privileged };
}

int doctor_add(Doctor *d, Severity severity, const char *check, const char *fix, const char *format, ...)
{
        _cleanup_(freep) char *text = NULL, *fix_copy = NULL;
        Finding *f;
        va_list ap;
        int r;

        assert(d);
        assert(check);
        assert(format);

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (fix) {
                fix_copy = strdup(fix);
                if (!fix_copy)
                        return -ENOMEM;
        }
        f = realloc(d->findings, (d->n_findings + 1) * sizeof(Finding));
        if (!f)
                return -ENOMEM;
        d->findings = f;
        f[d->n_findings++] = (Finding){
                .severity = severity,
                .check = check,
                .text = TAKE_PTR(text),
                .fix = TAKE_PTR(fix_copy),
        };
        return 0;
}

Severity doctor_worst(const Doctor *d)
{
        Severity worst = SEVERITY_OK;

        assert(d);

        for (size_t i = 0; i < d->n_findings; i++)
                if (d->findings[i].severity > worst)
                        worst = d->findings[i].severity;
        return worst;
}

int doctor_path(const Doctor *d, const char *path, char **ret)
{
        assert(d);
        assert(path);
        assert(ret);

        return asprintf(ret, "%s%s", d->root, path) < 0 ? -ENOMEM : 0;
}

int doctor_read_file(const Doctor *d, const char *path, size_t max, char **ret)
{
        _cleanup_(freep) char *p = NULL;
        int r;

        assert(d);
        assert(path);
        assert(ret);

        r = doctor_path(d, path, &p);
        if (r < 0)
                return r;
        return read_file_capped_at(AT_FDCWD, p, max, ret, &(size_t){ 0 });
}

int doctor_read_line(const Doctor *d, const char *path, char **ret)
{
        char *s;
        size_t n;
        int r;

        assert(d);
        assert(path);
        assert(ret);

        /* sysfs attributes and /proc/cmdline: a page at most. */
        r = doctor_read_file(d, path, 4096, &s);
        if (r < 0)
                return r;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
        *ret = s;
        return 0;
}

bool doctor_exists(const Doctor *d, const char *path)
{
        _cleanup_(freep) char *p = NULL;
        struct stat st;

        assert(d);
        assert(path);

        return doctor_path(d, path, &p) >= 0 && stat(p, &st) >= 0;
}

/* The value of the first "PREFIXKEY=value" line of text. */
static int find_assignment(const char *text, const char *prefix, const char *key, char **ret)
{
        size_t m = strlen(prefix), n = strlen(key);

        for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                const char *v;

                if (strncmp(p, prefix, m) != 0 || strncmp(p + m, key, n) != 0 || p[m + n] != '=')
                        continue;
                v = p + m + n + 1;
                *ret = strndup(v, strcspn(v, "\n"));
                return *ret ? 0 : -ENOMEM;
        }
        *ret = NULL;
        return 0;
}

int kconfig_get(const char *config, const char *option, char **ret)
{
        assert(config);
        assert(option);
        assert(ret);

        /* Lines are "CONFIG_X=value" or "# CONFIG_X is not set"; only the former sets it. */
        return find_assignment(config, "CONFIG_", option, ret);
}

int cmdline_get(const char *cmdline, const char *key, char **ret)
{
        _cleanup_(freep) char *found = NULL;
        size_t n;

        assert(cmdline);
        assert(key);
        assert(ret);

        n = strlen(key);
        /* Words are separated by blanks; the kernel takes the last of a repeated parameter. Quotes
         * are rare in these parameters and not handled. */
        for (const char *p = cmdline; *p;) {
                size_t len;

                p += strspn(p, " \t\n");
                len = strcspn(p, " \t\n");
                if (len >= n && strncmp(p, key, n) == 0 && (len == n || p[n] == '=')) {
                        free(found);
                        found = len == n ? strdup("") : strndup(p + n + 1, len - n - 1);
                        if (!found)
                                return -ENOMEM;
                }
                p += len;
        }
        *ret = TAKE_PTR(found);
        return 0;
}

int check_config_get(const char *dump, const char *key, char **ret)
{
        assert(dump);
        assert(key);
        assert(ret);

        /* The dump is what the daemon parsed: "Key=value" lines under section headers; the keys
         * asked for are [Daemon]'s, which no other section has. */
        return find_assignment(dump, "", key, ret);
}

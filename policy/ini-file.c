/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "ini-file.h"

int ini_fail(IniFile *s, const char *fmt, ...)
{
        _cleanup_(freep) char *msg = NULL;
        va_list ap;
        int r;

        /* Report the first problem only: later ones are often its consequences. */
        if (s->error)
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0 || asprintf(&s->error, "%s:%u: %s", s->path, s->line, msg) < 0)
                s->error = NULL;
        s->error_line = s->line;
        return 0; /* tells inih this line failed */
}

/* inih hands us no line numbers; count them in the reader so errors can name the line. */
static char *reader_counting(char *str, int num, void *stream)
{
        IniFile *s = stream;
        char *p;

        p = fgets(str, num, s->file);
        if (!p)
                return NULL;
        if (s->line_complete)
                s->line++;
        s->line_complete = strchr(p, '\n') != NULL;
        return p;
}

static int fail_errno(char **ret_error, const char *path, const char *what, int r)
{
        if (asprintf(ret_error, "%s: %s: %s", path, what, strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int ini_file_parse(const char *path, int (*handler)(void *, const char *, const char *, const char *),
                   void *userdata, char **ret_error)
{
        _cleanup_(fclosep) FILE *f = NULL;
        IniFile s = { .userdata = userdata, .path = path, .line_complete = true };
        int r;

        f = fopen(path, "re");
        if (!f)
                return fail_errno(ret_error, path, "Cannot open", negative_errno());
        s.file = f;

        r = ini_parse_stream(reader_counting, &s, handler, &s);
        if (r > 0 && (!s.error || (unsigned)r < s.error_line)) {
                /* A line inih could not parse at all (no '=', an unclosed '['), before any other error. */
                free(s.error);
                if (asprintf(ret_error, "%s:%d: Syntax error: expected [Section] or Key=Value", path, r) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (s.error) {
                *ret_error = s.error;
                return -EINVAL;
        }
        if (r == -2)
                return fail_errno(ret_error, path, "Cannot read", -ENOMEM);
        if (r < 0 || ferror(f))
                return fail_errno(ret_error, path, "Cannot read", -EIO);
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int ini_list_conf_files(const char *dir, char ***ret)
{
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        size_t n = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return negative_errno();
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }

        while ((errno = 0, de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char **nl;

                if (de->d_name[0] == '.' || len < 6 || !streq(de->d_name + len - 5, ".conf"))
                        continue;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                if (asprintf(&l[n], "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                l[++n] = NULL;
        }
        if (errno != 0)
                return negative_errno();

        if (!l) {
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

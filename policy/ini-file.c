/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "strv.h"
#include "ini-file.h"
#include "read-file.h"

int ini_fail(IniFile *s, const char *fmt, ...)
{
        _cleanup_(freep) char *msg = NULL;
        va_list ap;
        int r;

        assert(s);
        assert(fmt);

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

/* inih reads into a fixed buffer of num bytes and would hand the rest of a longer line back as a
 * line of its own: a comment's tail would become a setting. So read whole lines ourselves and
 * refuse what does not fit, one reader call per line so inih's line count stays ours. Returning
 * NULL stops inih; the error, if any, is in s. */
static char *reader_lines(char *str, int num, void *stream)
{
        IniFile *s = stream;
        ssize_t n;

        if (s->error)
                return NULL; /* the first error is all we report: no need to read on */
        errno = 0;
        n = getline(&s->buf, &s->buf_size, s->file);
        if (n < 0) {
                if (ferror(s->file))
                        s->read_error = negative_errno();
                return NULL;
        }
        s->line++;
        s->bytes += (uint64_t)n;
        if (s->bytes > INI_FILE_SIZE_MAX) {
                ini_fail(s, "File too large (max %" PRIu64 " bytes)", INI_FILE_SIZE_MAX);
                return NULL;
        }
        if (n > 0 && s->buf[n - 1] == '\n')
                s->buf[--n] = '\0';
        if (n > 0 && s->buf[n - 1] == '\r')
                s->buf[--n] = '\0';
        /* inih, like C strings, would end the line there and take what is before as the value. */
        if (memchr(s->buf, '\0', (size_t)n)) {
                ini_fail(s, "Line contains a NUL byte");
                return NULL;
        }
        if (num < 1 || n > num - 1) {
                ini_fail(s, "Line too long (max %d characters)", num - 1);
                return NULL;
        }
        memcpy(str, s->buf, (size_t)n + 1);
        return str;
}

static int fail_errno(char **ret_error, const char *path, const char *what, int r)
{
        if (asprintf(ret_error, "%s: %s: %s", path, what, strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

static bool stat_is_dev_null(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

/* Through open_regular_at(): a FIFO does not stall the load, and /dev/zero is not read. Returns 1
 * and no file for /dev/null, which masks. */
static int open_regular(const char *path, FILE **ret, char **ret_error)
{
        _cleanup_(closep) int fd = -EBADF;
        struct stat st = {};
        FILE *f;

        fd = open_regular_at(AT_FDCWD, path, &st);
        if (fd == -EBADFD && stat_is_dev_null(&st)) {
                *ret = NULL;
                return 1;
        }
        if (fd == -EISDIR)
                return fail_errno(ret_error, path, "Cannot read", fd);
        if (fd == -EBADFD) {
                if (asprintf(ret_error, "%s: Cannot read: not a regular file", path) < 0)
                        *ret_error = NULL;
                return fd;
        }
        if (fd < 0)
                return fail_errno(ret_error, path, "Cannot open", fd);
        if ((uint64_t)st.st_size > INI_FILE_SIZE_MAX) {
                if (asprintf(ret_error, "%s: File too large (max %" PRIu64 " bytes)", path,
                             INI_FILE_SIZE_MAX) < 0)
                        *ret_error = NULL;
                return -EFBIG;
        }
        /* Reads of a regular file never block; clear the flag anyway so stdio sees no EAGAIN. */
        if (fcntl(fd, F_SETFL, O_RDONLY) < 0)
                return fail_errno(ret_error, path, "Cannot open", negative_errno());
        f = fdopen(fd, "r");
        if (!f)
                return fail_errno(ret_error, path, "Cannot open", negative_errno());
        TAKE_FD(fd);
        *ret = f;
        return 0;
}

int ini_file_parse(const char *path, int (*handler)(void *, const char *, const char *, const char *),
                   void *userdata, char **ret_error)
{
        _cleanup_(fclosep) FILE *f = NULL;
        IniFile s;
        int r;

        assert(path);
        assert(handler);
        assert(ret_error);

        s = (IniFile){ .userdata = userdata, .path = path };
        r = open_regular(path, &f, ret_error);
        if (r != 0)
                return r;
        s.file = f;

        r = ini_parse_stream(reader_lines, &s, handler, &s);
        free(s.buf);
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
        if (s.read_error < 0)
                return fail_errno(ret_error, path, "Cannot read", s.read_error);
        if (r == -2)
                return fail_errno(ret_error, path, "Cannot read", -ENOMEM);
        if (r < 0)
                return fail_errno(ret_error, path, "Cannot read", -EIO);
        return 0;
}

static int cmp_basename(const void *a, const void *b)
{
        const char *x = *(char *const *)a, *y = *(char *const *)b;

        return strcmp(strrchr(x, '/') + 1, strrchr(y, '/') + 1);
}

static bool name_seen(char *const *names, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], name))
                        return true;
        return false;
}

static int list_fail(char **ret_error, const char *dir, int r)
{
        if (r == -E2BIG) {
                if (asprintf(ret_error, "%s: Too many drop-ins (max %d)", dir, INI_CONF_FILES_MAX) < 0)
                        *ret_error = NULL;
        } else
                return fail_errno(ret_error, dir, "Cannot list drop-ins", r);
        return r;
}

static int list_dir(const char *dir, char ***names, size_t *n_names, char ***paths, size_t *n_paths)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();

        while ((errno = 0, de = readdir(d))) {
                size_t len = strlen(de->d_name);
                struct stat st;
                char *path;

                if (de->d_name[0] == '.' || len < 6 || !streq(de->d_name + len - 5, ".conf"))
                        continue;
                if (name_seen(*names, *n_names, de->d_name))
                        continue; /* a directory before this one has it */
                /* The name counts as seen even when masked: that is what masks the later ones.
                 * Bound the names too, or a huge directory would make this quadratic. */
                if (*n_names >= INI_CONF_FILES_MAX)
                        return -E2BIG;
                r = strv_consume(names, n_names, strdup(de->d_name));
                if (r < 0)
                        return r;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (fstatat(dirfd(d), de->d_name, &st, 0) >= 0 && stat_is_dev_null(&st)) {
                        free(path);
                        continue;
                }
                r = strv_consume(paths, n_paths, path);
                if (r < 0)
                        return r;
        }
        return errno != 0 ? negative_errno() : 0;
}

int ini_conf_files_list(const char *const *dirs, char ***ret, char **ret_error, const char **ret_error_dir)
{
        _cleanup_(strv_freep) char **names = NULL, **paths = NULL;
        size_t n_names = 0, n_paths = 0;
        int r;

        assert(dirs);
        assert(ret);
        assert(ret_error);

        for (const char *const *dir = dirs; *dir; dir++) {
                r = list_dir(*dir, &names, &n_names, &paths, &n_paths);
                if (r < 0) {
                        if (ret_error_dir)
                                *ret_error_dir = *dir;
                        return list_fail(ret_error, *dir, r);
                }
        }
        if (!paths) {
                paths = calloc(1, sizeof(char *));
                if (!paths)
                        return -ENOMEM;
        }
        qsort(paths, n_paths, sizeof(char *), cmp_basename);
        *ret = TAKE_PTR(paths);
        return 0;
}

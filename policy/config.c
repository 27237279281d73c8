/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "macro.h"
#include "config.h"
#include "parse-util.h"

static const char *const kernel_auto_online_table[_KERNEL_AUTO_ONLINE_MAX] = {
        [KERNEL_AUTO_ONLINE_TAKEOVER] = "takeover",
        [KERNEL_AUTO_ONLINE_RESPECT] = "respect",
};

static const char *const uevent_source_table[_UEVENT_SOURCE_MAX] = {
        [UEVENT_SOURCE_KERNEL] = "kernel",
        [UEVENT_SOURCE_UDEV] = "udev",
};

const char *kernel_auto_online_to_string(KernelAutoOnline k)
{
        return k >= 0 && k < _KERNEL_AUTO_ONLINE_MAX ? kernel_auto_online_table[k] : NULL;
}

KernelAutoOnline kernel_auto_online_from_string(const char *s)
{
        for (int i = 0; i < _KERNEL_AUTO_ONLINE_MAX; i++)
                if (streq(s, kernel_auto_online_table[i]))
                        return (KernelAutoOnline)i;
        return _KERNEL_AUTO_ONLINE_INVALID;
}

const char *uevent_source_to_string(UeventSource s)
{
        return s >= 0 && s < _UEVENT_SOURCE_MAX ? uevent_source_table[s] : NULL;
}

UeventSource uevent_source_from_string(const char *s)
{
        for (int i = 0; i < _UEVENT_SOURCE_MAX; i++)
                if (streq(s, uevent_source_table[i]))
                        return (UeventSource)i;
        return _UEVENT_SOURCE_INVALID;
}

void config_init_defaults(Config *c)
{
        *c = (Config){
                .chunk_blocks = 64,
                .chunk_pause_usec = 0,
                .scan_at_start = true,
                .kernel_auto_online = KERNEL_AUTO_ONLINE_TAKEOVER,
                .uevent_source = UEVENT_SOURCE_KERNEL,
                .log_level = -1,
                .max_attempts = 3,
                .retry_usec = USEC_PER_SEC,
                .online = ONLINE_TYPE_MOVABLE,
        };
}

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c->nodes);
        free(c);
        return NULL;
}

const NodePolicy *config_find_node(const Config *c, unsigned node)
{
        for (size_t i = 0; i < c->n_nodes; i++)
                if (c->nodes[i].node == node)
                        return &c->nodes[i];
        return NULL;
}

/* Value parsers for the key table: each takes the text and the field it fills. */

static int value_chunk_blocks(const char *v, void *field)
{
        return parse_unsigned(v, 1, 1u << 20, field);
}

static int value_attempts(const char *v, void *field)
{
        return parse_unsigned(v, 1, 1000, field);
}

static int value_sec(const char *v, void *field)
{
        return parse_sec(v, field);
}

static int value_bool(const char *v, void *field)
{
        return parse_boolean(v, field);
}

static int value_log_level(const char *v, void *field)
{
        return parse_log_level(v, field);
}

static int value_kernel_auto_online(const char *v, void *field)
{
        KernelAutoOnline k = kernel_auto_online_from_string(v);

        if (k < 0)
                return k;
        *(KernelAutoOnline *)field = k;
        return 0;
}

static int value_uevent_source(const char *v, void *field)
{
        UeventSource s = uevent_source_from_string(v);

        if (s < 0)
                return s;
        *(UeventSource *)field = s;
        return 0;
}

static int value_online(const char *v, void *field)
{
        OnlineType t = online_type_from_string(v);

        if (t < 0)
                return t;
        *(OnlineType *)field = t;
        return 0;
}

typedef struct ConfigKey {
        const char *section; /* "Node" stands for every [Node N] */
        const char *key;
        int (*parse)(const char *value, void *field);
        size_t offset; /* into Config, or into NodePolicy for "Node" */
        size_t size;
        const char *expected;
} ConfigKey;

#define KEY(sec, name, fn, type, field, exp)                                                                \
        {                                                                                                   \
                sec, name, fn, offsetof(type, field), sizeof(((type *)0)->field), exp                       \
        }

static const ConfigKey config_keys[] = {
        KEY("Daemon", "ChunkBlocks", value_chunk_blocks, Config, chunk_blocks,
            "a number of blocks, 1 or more"),
        KEY("Daemon", "ChunkPauseSec", value_sec, Config, chunk_pause_usec,
            "a time such as 0, 0.5 or 200ms"),
        KEY("Daemon", "ScanAtStart", value_bool, Config, scan_at_start, "yes or no"),
        KEY("Daemon", "KernelAutoOnline", value_kernel_auto_online, Config, kernel_auto_online,
            "takeover or respect"),
        KEY("Daemon", "UeventSource", value_uevent_source, Config, uevent_source, "kernel or udev"),
        KEY("Daemon", "LogLevel", value_log_level, Config, log_level,
            "emerg, alert, crit, err, warning, notice, info or debug"),
        KEY("Daemon", "MaxAttempts", value_attempts, Config, max_attempts, "a number from 1 to 1000"),
        KEY("Daemon", "RetrySec", value_sec, Config, retry_usec, "a time such as 1 or 500ms"),
        KEY("Memory", "Online", value_online, Config, online, "movable, kernel, online or offline"),
        KEY("Node", "Online", value_online, NodePolicy, online, "movable, kernel, online or offline"),
};

typedef struct ParseState {
        Config *config;
        const char *path;
        FILE *file;
        unsigned line;
        bool line_complete;
        char *error;
        unsigned error_line;
} ParseState;

_printf_(2, 3) static int parse_fail(ParseState *s, const char *fmt, ...)
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

/* "Node 3" -> 3 */
static int parse_node_section(const char *section, unsigned *ret)
{
        if (strncmp(section, "Node ", 5) != 0)
                return -EINVAL;
        return parse_unsigned(section + 5, 0, NODE_MAX, ret);
}

static NodePolicy *node_policy_get(Config *c, unsigned node)
{
        NodePolicy *n;

        n = (NodePolicy *)config_find_node(c, node);
        if (n)
                return n;
        n = realloc(c->nodes, (c->n_nodes + 1) * sizeof(NodePolicy));
        if (!n)
                return NULL;
        c->nodes = n;
        /* Inherit [Memory] as it stands at the end of parsing: -1 marks "not set here". */
        c->nodes[c->n_nodes] = (NodePolicy){ .node = node, .online = _ONLINE_TYPE_INVALID };
        return &c->nodes[c->n_nodes++];
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
        ParseState *s = user;
        const char *kind = section;
        NodePolicy defaults_node = { .online = _ONLINE_TYPE_INVALID };
        Config defaults;
        unsigned node = 0;
        void *base, *defaults_base;

        if (section[0] == '\0')
                return parse_fail(s, "Key %s= outside of any [Section]", name);
        if (strncmp(section, "Node", 4) == 0 && (section[4] == '\0' || section[4] == ' ')) {
                if (parse_node_section(section, &node) < 0)
                        return parse_fail(s, "Invalid section [%s]: expected [Node N] with N from 0 to %u",
                                          section, NODE_MAX);
                kind = "Node";
        }

        config_init_defaults(&defaults);
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];

                if (!streq(k->section, kind))
                        continue;
                if (!streq(k->key, name))
                        continue;

                if (streq(kind, "Node")) {
                        base = node_policy_get(s->config, node);
                        if (!base)
                                return parse_fail(s, "Out of memory");
                        defaults_base = &defaults_node;
                } else {
                        base = s->config;
                        defaults_base = &defaults;
                }

                /* An empty assignment resets the key to its default, as in systemd's files. */
                if (value[0] == '\0') {
                        memcpy((char *)base + k->offset, (char *)defaults_base + k->offset, k->size);
                        return 1;
                }
                if (k->parse(value, (char *)base + k->offset) < 0)
                        return parse_fail(s, "Invalid value \"%s\" for %s= in [%s]: expected %s", value,
                                          name, section, k->expected);
                return 1;
        }

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, kind))
                        return parse_fail(s, "Unknown key %s= in section [%s]", name, section);
        return parse_fail(s, "Unknown section [%s]", section);
}

/* inih hands us no line numbers; count them in the reader so errors can name the line. */
static char *ini_reader_counting(char *str, int num, void *stream)
{
        ParseState *s = stream;
        char *p;

        p = fgets(str, num, s->file);
        if (!p)
                return NULL;
        if (s->line_complete)
                s->line++;
        s->line_complete = strchr(p, '\n') != NULL;
        return p;
}

static int config_add_file(Config *c, const char *path)
{
        char **files;

        files = realloc(c->files, (c->n_files + 1) * sizeof(char *));
        if (!files)
                return -ENOMEM;
        c->files = files;
        c->files[c->n_files] = strdup(path);
        if (!c->files[c->n_files])
                return -ENOMEM;
        c->n_files++;
        return 0;
}

int config_parse_file(Config *c, const char *path, char **ret_error)
{
        _cleanup_(fclosep) FILE *f = NULL;
        ParseState s = { .config = c, .path = path, .line_complete = true };
        int r;

        f = fopen(path, "re");
        if (!f) {
                r = negative_errno();
                if (asprintf(ret_error, "%s: Cannot open: %s", path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        s.file = f;

        r = ini_parse_stream(ini_reader_counting, &s, config_ini_handler, &s);
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
        if (r < 0) {
                if (asprintf(ret_error, "%s: Cannot read: %s", path,
                             r == -2 ? "Out of memory" : "I/O error") < 0)
                        *ret_error = NULL;
                return r == -2 ? -ENOMEM : -EIO;
        }
        if (ferror(f)) {
                if (asprintf(ret_error, "%s: Cannot read: %s", path, strerror(EIO)) < 0)
                        *ret_error = NULL;
                return -EIO;
        }
        return config_add_file(c, path);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_freep(char ***l)
{
        if (!*l)
                return;
        for (char **p = *l; *p; p++)
                free(*p);
        free(*l);
}

/* The *.conf names in dir, sorted; an absent directory is an empty list. */
static int dropins_list(const char *dir, char ***ret)
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

int config_load(const char *path, bool required, Config **ret, char **ret_error)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strv_freep) char **dropins = NULL;
        _cleanup_(freep) char *dir = NULL;
        struct stat st;
        int r;

        *ret_error = NULL;
        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        config_init_defaults(c);

        if (required || stat(path, &st) >= 0 || errno != ENOENT) {
                r = config_parse_file(c, path, ret_error);
                if (r < 0)
                        return r;
        }

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        r = dropins_list(dir, &dropins);
        if (r < 0) {
                if (asprintf(ret_error, "%s: Cannot list drop-ins: %s", dir, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        for (char **p = dropins; *p; p++) {
                r = config_parse_file(c, *p, ret_error);
                if (r < 0)
                        return r;
        }

        /* A [Node N] section without Online= follows [Memory]. */
        for (size_t i = 0; i < c->n_nodes; i++)
                if (c->nodes[i].online < 0)
                        c->nodes[i].online = c->online;

        *ret = TAKE_PTR(c);
        return 0;
}

static const char *yes_no(bool b)
{
        return b ? "yes" : "no";
}

int config_dump(const Config *c, FILE *f)
{
        fprintf(f, "# Files read:");
        if (c->n_files == 0)
                fprintf(f, " none, built-in defaults");
        for (size_t i = 0; i < c->n_files; i++)
                fprintf(f, " %s", c->files[i]);
        fprintf(f, "\n\n[Daemon]\n");
        fprintf(f, "ChunkBlocks=%u\n", c->chunk_blocks);
        fprintf(f, "ChunkPauseSec=%gs\n", (double)c->chunk_pause_usec / USEC_PER_SEC);
        fprintf(f, "ScanAtStart=%s\n", yes_no(c->scan_at_start));
        fprintf(f, "KernelAutoOnline=%s\n", kernel_auto_online_to_string(c->kernel_auto_online));
        fprintf(f, "UeventSource=%s\n", uevent_source_to_string(c->uevent_source));
        fprintf(f, "LogLevel=%s\n", c->log_level >= 0 ? log_level_to_string(c->log_level) : "info");
        fprintf(f, "MaxAttempts=%u\n", c->max_attempts);
        fprintf(f, "RetrySec=%gs\n", (double)c->retry_usec / USEC_PER_SEC);
        fprintf(f, "\n[Memory]\nOnline=%s\n", online_type_to_string(c->online));
        for (size_t i = 0; i < c->n_nodes; i++)
                fprintf(f, "\n[Node %u]\nOnline=%s\n", c->nodes[i].node,
                        online_type_to_string(c->nodes[i].online));
        return fflush(f) == 0 ? 0 : negative_errno();
}

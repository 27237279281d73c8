/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "macro.h"
#include "read-file.h"

/* Whether a memory block's add event could get past a rule's conditions: NO, MAYBE or YES. The
 * order matters: a rule matches as well as its weakest condition. */
typedef enum Tri {
        TRI_NO,
        TRI_MAYBE,
        TRI_YES,
} Tri;

static Tri tri_min(Tri a, Tri b)
{
        return a < b ? a : b;
}

static Tri tri_max(Tri a, Tri b)
{
        return a > b ? a : b;
}

/* One KEY{attr}<op>"value" of a rule, pointing into the (modified) line. */
typedef struct RuleToken {
        char *key, *attr, *op, *value;
} RuleToken;

/* Returns 1 with a token, 0 at the end of the rule, -EINVAL for what udev would not parse. */
static int next_token(char **p, RuleToken *t)
{
        static const char *const ops[] = { "==", "!=", "+=", "-=", ":=", "=" };
        char *s = *p, *w;

        s += strspn(s, " \t,");
        if (*s == '\0')
                return 0;
        *t = (RuleToken){ .key = s };
        s += strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_");
        if (s == t->key)
                return -EINVAL;
        if (*s == '{') {
                *s++ = '\0';
                t->attr = s;
                s = strchr(s, '}');
                if (!s)
                        return -EINVAL;
                *s++ = '\0';
        }
        s += strspn(s, " \t");
        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                size_t n = strlen(ops[i]);

                if (strncmp(s, ops[i], n) != 0)
                        continue;
                /* The key ends where its operator begins; keep the operator's text apart. */
                t->op = (char *)ops[i];
                if (!t->attr)
                        *s = '\0';
                s += n;
                break;
        }
        if (!t->op)
                return -EINVAL;
        s += strspn(s, " \t");
        if (*s != '"')
                return -EINVAL;
        t->value = w = ++s;
        for (; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1])
                        s++;
                *w++ = *s;
        }
        if (*s != '"')
                return -EINVAL;
        s++;
        *w = '\0';
        /* Terminate the key where it ends (it may run into blanks or the '{'). */
        t->key[strspn(t->key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")] = '\0';
        *p = s;
        return 1;
}

static bool pattern_match(const char *patterns, const char *s)
{
        _cleanup_(freep) char *copy = strdup(patterns);
        char *save = NULL;

        if (!copy)
                return true; /* err on the side of a warning */
        for (char *p = strtok_r(copy, "|", &save); p; p = strtok_r(NULL, "|", &save))
                if (fnmatch(p, s, 0) == 0)
                        return true;
        return false;
}

/* What a condition says about an "add" event of a memory block. Only the keys that name the
 * event are decided; everything else (attributes, ENV, PROGRAM, CONST) may go either way. */
static Tri condition(const RuleToken *t)
{
        bool eq = streq(t->op, "=="), match;

        if (!eq && !streq(t->op, "!="))
                return TRI_YES; /* an assignment: no condition */
        if (t->attr)
                return TRI_MAYBE;
        if (streq(t->key, "SUBSYSTEM"))
                match = pattern_match(t->value, "memory");
        else if (streq(t->key, "ACTION"))
                match = pattern_match(t->value, "add");
        else if (streq(t->key, "KERNEL")) {
                match = pattern_match(t->value, "memory0");
                if (!match && strncmp(t->value, "memory", 6) == 0)
                        return TRI_MAYBE; /* say, memory1[0-9]: some blocks */
        } else if (streq(t->key, "DEVPATH")) {
                match = pattern_match(t->value, "/devices/system/memory/memory0");
                if (!match && strncmp(t->value, "/devices/system/memory/", 23) == 0)
                        return TRI_MAYBE;
        } else
                return TRI_MAYBE;
        return match == eq ? TRI_YES : TRI_NO;
}

static bool is_assignment(const RuleToken *t)
{
        return streq(t->op, "=") || streq(t->op, ":=") || streq(t->op, "+=");
}

/* What a token does to a block's state, or NULL. */
static const char *token_races(const RuleToken *t)
{
        if (!is_assignment(t))
                return NULL;
        if (streq(t->key, "ATTR") && t->attr && streq(t->attr, "state"))
                return strncmp(t->value, "offline", 7) == 0 ? "a udev rule offlines memory blocks itself"
                                                            : "a udev rule onlines memory blocks itself";
        if (streq(t->key, "RUN") && strstr(t->value, "online") && strstr(t->value, "/state"))
                return "a udev rule onlines memory blocks itself";
        return NULL;
}

typedef struct Label {
        char *name;
        Tri reach;
} Label;

/* Labels a file may define before the rest are taken as reachable by any jump: label_get() is a
 * linear search, and a file of nothing but labels must not make the scan quadratic. udev's own
 * files have a few each. */
#define RULES_LABELS_MAX 256

typedef struct RulesScan {
        Tri reach; /* of the next rule, for a memory block's add event */
        Label *labels;
        size_t n_labels;
} RulesScan;

static Label *label_get(RulesScan *s, const char *name)
{
        Label *l;

        for (size_t i = 0; i < s->n_labels; i++)
                if (streq(s->labels[i].name, name))
                        return &s->labels[i];
        if (s->n_labels >= RULES_LABELS_MAX)
                return NULL; /* the callers' answer: MAYBE */
        l = realloc(s->labels, (s->n_labels + 1) * sizeof(Label));
        if (!l)
                return NULL;
        s->labels = l;
        l[s->n_labels] = (Label){ .name = strdup(name), .reach = TRI_NO };
        if (!l[s->n_labels].name)
                return NULL;
        return &l[s->n_labels++];
}

/* One rule, as udev runs it: LABEL joins the paths that jump to it, the conditions decide
 * whether the rule's assignments happen, GOTO skips to its label. */
static const char *rule_races(RulesScan *s, char *rule)
{
        RuleToken tokens[64];
        const char *what = NULL;
        size_t n = 0;
        Tri fire;
        int r;

        while (n < ELEMENTSOF(tokens) && (r = next_token(&rule, &tokens[n])) > 0)
                n++;
        if (r < 0)
                return NULL; /* udev ignores a rule it cannot parse */

        for (size_t i = 0; i < n; i++)
                if (streq(tokens[i].key, "LABEL")) {
                        Label *l = label_get(s, tokens[i].value);

                        s->reach = tri_max(s->reach, l ? l->reach : TRI_MAYBE);
                }
        fire = s->reach;
        for (size_t i = 0; i < n; i++)
                fire = tri_min(fire, condition(&tokens[i]));
        if (fire == TRI_NO)
                return NULL;
        for (size_t i = 0; i < n && !what; i++)
                what = token_races(&tokens[i]);
        for (size_t i = 0; i < n; i++)
                if (streq(tokens[i].key, "GOTO")) {
                        Label *l = label_get(s, tokens[i].value);

                        if (l)
                                l->reach = tri_max(l->reach, fire);
                        s->reach = fire == TRI_YES ? TRI_NO : tri_min(s->reach, TRI_MAYBE);
                }
        return what;
}

/* A whole rule: the line and its continuations (a backslash at the end). */
static ssize_t read_rule(FILE *f, char **buf, size_t *size)
{
        _cleanup_(freep) char *more = NULL;
        size_t more_size = 0;
        ssize_t n, m;

        n = getline(buf, size, f);
        if (n < 0)
                return n;
        for (;;) {
                while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
                        (*buf)[--n] = '\0';
                if (n == 0 || (*buf)[n - 1] != '\\')
                        return n;
                (*buf)[--n] = '\0';
                m = getline(&more, &more_size, f);
                if (m < 0)
                        return n;
                if ((size_t)(n + m + 1) > *size) {
                        char *b = realloc(*buf, n + m + 1);

                        if (!b)
                                return -1;
                        *buf = b;
                        *size = n + m + 1;
                }
                memcpy(*buf + n, more, m + 1);
                n += m;
        }
}

/* What rules text does that races us, or NULL. It follows the text as udev would for a memory
 * block's add event, across lines: RHEL writes its rule as SUBSYSTEM!="memory", GOTO=… on one
 * line and ATTR{state}="…" on another. Conservative: what might run is reported. Heuristic by
 * design: we only warn. */
const char *agents_rules_races(const char *text, size_t size)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(freep) char *line = NULL;
        RulesScan s = { .reach = TRI_YES };
        const char *what = NULL;
        size_t buf_size = 0;

        assert(text || size == 0);

        f = fopen_buffer(text, size);
        if (!f)
                return NULL;
        while (!what && read_rule(f, &line, &buf_size) >= 0) {
                const char *p = line + strspn(line, " \t");

                if (*p == '#' || *p == '\0')
                        continue;
                what = rule_races(&s, line);
        }
        for (size_t i = 0; i < s.n_labels; i++)
                free(s.labels[i].name);
        free(s.labels);
        return what;
}

/* A rules file is read whole into memory, and only if it is a regular file of at most
 * READ_MAX_UDEV_RULES: a FIFO would stall the daemon's start, a link to /dev/zero grow it without
 * end. Returns 0 and what races (or NULL), or why the file was not read. */
static int rules_file_races(const char *path, const char *name, const char **ret)
{
        _cleanup_(freep) char *text = NULL;
        size_t size;
        int r;

        if (strstr(name, "daxctl")) {
                *ret = "daxctl's hook converts dax devices to system-ram itself";
                return 0;
        }
        r = read_file_capped_at(AT_FDCWD, path, READ_MAX_UDEV_RULES, &text, &size);
        if (r < 0)
                return r;
        *ret = agents_rules_races(text, size);
        return 0;
}

static bool is_masked(const char *path)
{
        char target[16];
        ssize_t t;

        t = readlink(path, target, sizeof(target) - 1);
        return t == 9 && strncmp(target, "/dev/null", 9) == 0;
}

static bool name_seen(char *const *names, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], name))
                        return true;
        return false;
}

static int list_add(RacingRule **l, size_t *n, const char *dir, const char *first, const char *name,
                    const char *what, int error)
{
        RacingRule *nl = realloc(*l, (*n + 1) * sizeof(RacingRule));

        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = (RacingRule){ .what = what, .error = error };
        if (asprintf(&nl[*n].path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        if (asprintf(&nl[*n].mask, "%s/%s", first, name) < 0) {
                free(nl[*n].path);
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

/* udev takes each file name from the first directory that has it; later ones are hidden, and a
 * link to /dev/null hides it for good. */
static int scan_dir(const char *dir, const char *first, char ***names, size_t *n_names, RacingRule **l,
                    size_t *n)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_(freep) char *path = NULL;
                size_t len = strlen(de->d_name);
                const char *what;
                char **nn;

                if (len < 7 || !streq(de->d_name + len - 6, ".rules") ||
                    name_seen(*names, *n_names, de->d_name))
                        continue;
                nn = realloc(*names, (*n_names + 1) * sizeof(char *));
                if (!nn)
                        return -ENOMEM;
                *names = nn;
                nn[*n_names] = strdup(de->d_name);
                if (!nn[*n_names])
                        return -ENOMEM;
                (*n_names)++;

                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (is_masked(path))
                        continue;
                what = NULL;
                r = rules_file_races(path, de->d_name, &what);
                if (r == -ENOMEM)
                        return r;
                /* A dangling link is no rule to udev either. */
                if (r == -ENOENT || (r >= 0 && !what))
                        continue;
                r = list_add(l, n, dir, first, de->d_name, what, r < 0 ? r : 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int agents_find_racing_rules(const char *dirs, RacingRule **ret, size_t *ret_n)
{
        _cleanup_(freep) char *copy = NULL;
        const char *first = NULL;
        RacingRule *l = NULL;
        char **names = NULL;
        size_t n = 0, n_names = 0;
        char *save = NULL;
        int r = 0;

        assert(dirs);
        assert(ret);
        assert(ret_n);

        copy = strdup(dirs);
        if (!copy)
                return -ENOMEM;
        for (char *dir = strtok_r(copy, ":", &save); dir && r >= 0; dir = strtok_r(NULL, ":", &save)) {
                /* Masks go into the first directory, /etc/udev/rules.d by default. */
                first = first ?: dir;
                r = scan_dir(dir, first, &names, &n_names, &l, &n);
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        if (r < 0) {
                racing_rules_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

void racing_rules_free(RacingRule *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].path);
                free(l[i].mask);
        }
        free(l);
}

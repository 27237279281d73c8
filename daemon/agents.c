/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "macro.h"

/* What a rules file does that races us, or NULL. Heuristic by design: we only warn. */
static const char *rules_file_races(const char *path, const char *name)
{
        _cleanup_(fclosep) FILE *f = NULL;
        char line[2048];

        if (strstr(name, "daxctl"))
                return "daxctl's hook converts dax devices to system-ram itself";
        f = fopen(path, "re");
        if (!f)
                return NULL;
        while (fgets(line, sizeof(line), f)) {
                const char *p = line + strspn(line, " \t");

                if (*p == '#')
                        continue;
                /* SUBSYSTEM=="memory" … ATTR{state}="online…" on one line: the rule onlines blocks. */
                if (!strstr(p, "SUBSYSTEM==\"memory\""))
                        continue;
                if (strstr(p, "ATTR{state}=\"online") || (strstr(p, "echo online") && strstr(p, "/state")))
                        return "a udev rule onlines memory blocks itself";
        }
        return NULL;
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
                    const char *what)
{
        RacingRule *nl = realloc(*l, (*n + 1) * sizeof(RacingRule));

        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = (RacingRule){ .what = what };
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
                what = rules_file_races(path, de->d_name);
                if (!what)
                        continue;
                r = list_add(l, n, dir, first, de->d_name, what);
                if (r < 0)
                        return r;
        }
        return 0;
}

int agents_find_racing_rules(const char *dirs, RacingRule **ret, size_t *ret_n)
{
        _cleanup_(freep) char *copy = strdup(dirs);
        const char *first = NULL;
        RacingRule *l = NULL;
        char **names = NULL;
        size_t n = 0, n_names = 0;
        char *save = NULL;
        int r = 0;

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

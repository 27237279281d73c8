/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "doctor.h"
#include "read-file.h"

/* A path under the root as the machine itself names it. */
static const char *unrooted(const Doctor *d, const char *path)
{
        size_t n = strlen(d->root);

        return n > 0 && strncmp(path, d->root, n) == 0 ? path + n : path;
}

/* The .conf files daxctl -C reads: it converts the devices they name when they appear. */
static int daxctl_conf_files(const Doctor *d, unsigned *ret)
{
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_(freep) char *p = NULL;
        struct dirent *de;
        unsigned n = 0;
        int r;

        r = doctor_path(d, "/etc/daxctl.conf.d", &p);
        if (r < 0)
                return r;
        dir = opendir(p);
        while (dir && (de = readdir(dir))) {
                size_t len = strlen(de->d_name);

                if (len > 5 && streq(de->d_name + len - 5, ".conf"))
                        n++;
        }
        *ret = n;
        return 0;
}

static int report_rule(Doctor *d, const RacingRule *rule, unsigned daxctl_files)
{
        _cleanup_(freep) char *fix = NULL;
        const char *path = unrooted(d, rule->path);

        if (rule->error < 0)
                return doctor_add(d, SEVERITY_WARNING, "agents", NULL,
                                  "%s could not be read (%s): whether it onlines memory was not checked",
                                  path, strerror(ERRNO_VALUE(rule->error)));
        if (asprintf(&fix, "ln -s /dev/null %s", unrooted(d, strna(rule->mask))) < 0)
                return -ENOMEM;
        if (!strstr(path, "daxctl"))
                return doctor_add(d, SEVERITY_ERROR, "agents", fix, "%s: %s and races memhotplugd", path,
                                  rule->what);
        /* daxctl -C acts only on the devices that /etc/daxctl.conf.d names; the daemon imports
         * those files and would convert the same devices. */
        if (daxctl_files == 0)
                return doctor_add(
                        d, SEVERITY_INFO, "agents", NULL,
                        "%s: daxctl's rule is installed, and /etc/daxctl.conf.d names no device for it "
                        "to convert",
                        path);
        return doctor_add(d, SEVERITY_WARNING, "agents", fix,
                          "%s: %s, for the %u files of /etc/daxctl.conf.d that memhotplugd imports too",
                          path, rule->what, daxctl_files);
}

static int check_udev_rules(Doctor *d)
{
        _cleanup_(freep) char *dirs = NULL;
        RacingRule *rules = NULL;
        unsigned daxctl_files = 0;
        size_t n = 0;
        int r;

        /* The same directories, in the same order, as the daemon looks at (agents.h). */
        if (asprintf(&dirs,
                     "%s/etc/udev/rules.d:%s/run/udev/rules.d:%s/usr/lib/udev/rules.d:%s/lib/udev/rules.d",
                     d->root, d->root, d->root, d->root) < 0)
                return -ENOMEM;
        r = agents_find_racing_rules(dirs, &rules, &n);
        if (r < 0)
                return r;
        r = daxctl_conf_files(d, &daxctl_files);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = report_rule(d, &rules[i], daxctl_files);
        racing_rules_free(rules, n);
        if (r < 0 || n > 0)
                return r;
        return doctor_add(d, SEVERITY_OK, "agents", NULL, "No udev rule writes a memory block's state");
}

/* Agents that online memory when someone asks them to: seen running (their comm in /proc) or
 * installed. */
static const struct {
        const char *comm;
        const char *paths[2];
        const char *what, *fix;
} guest_agents[] = {
        {
                .comm = "qemu-ga",
                .paths = { "/usr/sbin/qemu-ga", "/usr/bin/qemu-ga" },
                .what = "the QEMU guest agent onlines and offlines memory blocks when the host asks "
                        "(guest-set-memory-blocks)",
                .fix = "if the host should not, run qemu-ga with --block-rpcs=guest-set-memory-blocks",
        },
};

static bool process_runs(const Doctor *d, const char *comm)
{
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_(freep) char *p = NULL;
        struct dirent *de;

        if (doctor_path(d, "/proc", &p) < 0)
                return false;
        dir = opendir(p);
        while (dir && (de = readdir(dir))) {
                _cleanup_(freep) char *path = NULL, *c = NULL;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                if (asprintf(&path, "/proc/%s/comm", de->d_name) < 0)
                        return false;
                if (doctor_read_line(d, path, &c) >= 0 && streq(c, comm))
                        return true;
        }
        return false;
}

static int check_guest_agents(Doctor *d)
{
        int r;

        for (size_t i = 0; i < ELEMENTSOF(guest_agents); i++) {
                const char *seen = NULL;

                if (process_runs(d, guest_agents[i].comm))
                        seen = "runs";
                for (size_t j = 0; !seen && j < ELEMENTSOF(guest_agents[i].paths); j++)
                        if (guest_agents[i].paths[j] && doctor_exists(d, guest_agents[i].paths[j]))
                                seen = "is installed";
                if (!seen)
                        continue;
                r = doctor_add(d, SEVERITY_INFO, "agents", guest_agents[i].fix, "%s %s: %s",
                               guest_agents[i].comm, seen, guest_agents[i].what);
                if (r < 0)
                        return r;
        }
        return 0;
}

int doctor_check_agents(Doctor *d)
{
        int r;

        assert(d);

        r = check_udev_rules(d);
        if (r < 0)
                return r;
        return check_guest_agents(d);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel-delegate.h"
#include "kernel-info.h"
#include "log.h"

static const char *const param_names[_DELEGATE_PARAM_MAX] = {
        [DELEGATE_PARAM_ONLINE_POLICY] = "online_policy",
        [DELEGATE_PARAM_RATIO] = "auto_movable_ratio",
        [DELEGATE_PARAM_NUMA_AWARE] = "auto_movable_numa_aware",
};

static int save_path(Manager *m, DelegateParam p, char **ret)
{
        return asprintf(ret, "%s/kernel-param-%s", m->options.runtime_dir, param_names[p]) < 0 ? -ENOMEM : 0;
}

/* The value the knobs want, as the kernel shows it; NULL for one they leave alone. */
static const char *wanted(const KernelKnobs *k, DelegateParam p, char *buf, size_t size)
{
        if (!k->online_policy)
                return NULL;
        switch (p) {
        case DELEGATE_PARAM_ONLINE_POLICY:
                return k->online_policy;
        case DELEGATE_PARAM_RATIO:
                if (!streq(k->online_policy, "auto-movable"))
                        return NULL;
                snprintf(buf, size, "%u", k->auto_movable_ratio);
                return buf;
        case DELEGATE_PARAM_NUMA_AWARE:
                return streq(k->online_policy, "auto-movable") ? (k->auto_movable_numa_aware ? "Y" : "N")
                                                               : NULL;
        default:
                return NULL;
        }
}

static void restore_one(Manager *m, DelegateParam p)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!m->delegate_changed[p])
                return;
        r = kernel_write_hotplug_param(m->sysfs, param_names[p], m->delegate_original[p]);
        if (r < 0) {
                log_error_errno(r, "Failed to restore %s=%s: %m", param_names[p], m->delegate_original[p]);
                return;
        }
        log_info("Restored the kernel's %s=%s", param_names[p], m->delegate_original[p]);
        if (save_path(m, p, &path) >= 0)
                (void)unlink(path);
        m->delegate_changed[p] = false;
}

void delegate_params_restore(Manager *m)
{
        for (DelegateParam p = 0; p < _DELEGATE_PARAM_MAX; p++)
                restore_one(m, p);
}

/* What a previous run changed and did not restore (it crashed): "ORIGINAL SET" in the file, the
 * kernel's value and what that run set. The original is the kernel's real one if the kernel still
 * shows what that run set; else someone set it since, and it is theirs. */
static void adopt_saved(Manager *m, DelegateParam p, const char *path, const char *current)
{
        char saved[2 * sizeof(m->delegate_original[p])], *set;

        if (m->delegate_changed[p] || sysfs_read_at(AT_FDCWD, path, saved, sizeof(saved)) <= 0)
                return;
        set = strchr(saved, ' ');
        if (!set || !streq(set + 1, current)) {
                (void)unlink(path);
                return;
        }
        *set = '\0';
        if (strlen(saved) >= sizeof(m->delegate_original[p]))
                return;
        memcpy(m->delegate_original[p], saved, strlen(saved) + 1);
        m->delegate_changed[p] = true;
}

void delegate_params_adopt(Manager *m)
{
        for (DelegateParam p = 0; p < _DELEGATE_PARAM_MAX; p++) {
                _cleanup_(freep) char *path = NULL;
                char current[sizeof(m->delegate_original[p])];

                if (save_path(m, p, &path) < 0 ||
                    kernel_read_hotplug_param(m->sysfs, param_names[p], current, sizeof(current)) < 0)
                        continue;
                adopt_saved(m, p, path, current);
        }
}

static int apply_one(Manager *m, DelegateParam p, const char *want, char **ret_why)
{
        _cleanup_(freep) char *path = NULL;
        char current[sizeof(m->delegate_original[p])], value[2 * sizeof(current) + 2];
        int r;

        r = kernel_read_hotplug_param(m->sysfs, param_names[p], current, sizeof(current));
        if (r < 0)
                return asprintf(ret_why, "cannot read %s: %s", param_names[p], strerror(-r)) < 0 ? -ENOMEM
                                                                                                 : r;
        r = save_path(m, p, &path);
        if (r < 0)
                return r;
        if (streq(current, want))
                return 0;

        /* The kernel's value first, where a restart finds it: never change what cannot be given back. */
        snprintf(value, sizeof(value), "%s %s\n", current, want);
        r = write_file_atomic(path, value);
        if (r < 0)
                return asprintf(ret_why, "cannot save the original %s=%s to %s: %s", param_names[p], current,
                                path, strerror(-r)) < 0
                               ? -ENOMEM
                               : r;
        if (!m->delegate_changed[p]) {
                snprintf(m->delegate_original[p], sizeof(m->delegate_original[p]), "%s", current);
                m->delegate_changed[p] = true;
        }
        r = kernel_write_hotplug_param(m->sysfs, param_names[p], want);
        if (r < 0)
                return asprintf(ret_why, "cannot set %s=%s: %s", param_names[p], want, strerror(-r)) < 0
                               ? -ENOMEM
                               : r;
        return 0;
}

int delegate_params_apply(Manager *m, const KernelKnobs *k, char **ret_why)
{
        for (DelegateParam p = 0; p < _DELEGATE_PARAM_MAX; p++) {
                char buf[16];
                const char *want = wanted(k, p, buf, sizeof(buf));
                int r;

                if (!want) {
                        restore_one(m, p); /* a reload that needs it no more */
                        continue;
                }
                r = apply_one(m, p, want, ret_why);
                if (r < 0) {
                        delegate_params_restore(m);
                        return r;
                }
        }
        return 0;
}

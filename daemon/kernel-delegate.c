/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-auto.h"
#include "kernel-delegate.h"
#include "log.h"

/* The parameters as saved settings, in DelegateParam's order. */
static const Setting param_settings[_DELEGATE_PARAM_MAX] = {
        [DELEGATE_PARAM_ONLINE_POLICY] = SETTING_ONLINE_POLICY,
        [DELEGATE_PARAM_RATIO] = SETTING_RATIO,
        [DELEGATE_PARAM_NUMA_AWARE] = SETTING_NUMA_AWARE,
};

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
        Setting s = param_settings[p];
        SavedSetting *st = kernel_setting(m, s);
        int r;

        r = setting_restore(m->sysfs, m->options.runtime_dir, s, st);
        if (r < 0)
                log_error_errno(r, "Failed to restore %s=%s: %m", setting_name(s), st->original);
        else if (r > 0)
                log_info("Restored the kernel's %s=%s", setting_name(s), st->original);
}

void delegate_params_restore(Manager *m)
{
        assert(m);

        for (DelegateParam p = 0; p < _DELEGATE_PARAM_MAX; p++)
                restore_one(m, p);
}

static int apply_one(Manager *m, DelegateParam p, const char *want, char **ret_why)
{
        _cleanup_(freep) char *path = NULL;
        Setting s = param_settings[p];
        SavedSetting *st = kernel_setting(m, s);
        char current[SETTING_VALUE_MAX];
        SettingStep step;
        int r;

        r = setting_set(m->sysfs, m->options.runtime_dir, s, st, want, &step);
        if (r >= 0)
                return 0;
        switch (step) {
        case SETTING_STEP_READ:
                return asprintf(ret_why, "cannot read %s: %s", setting_name(s), strerror(-r)) < 0 ? -ENOMEM
                                                                                                  : r;
        case SETTING_STEP_SAVE:
                if (setting_read(m->sysfs, s, current, sizeof(current)) < 0)
                        current[0] = '\0';
                if (setting_record_path(m->options.runtime_dir, s, &path) < 0)
                        return -ENOMEM;
                return asprintf(ret_why, "cannot save the original %s=%s to %s: %s", setting_name(s),
                                st->saved ? st->original : current, path, strerror(-r)) < 0
                               ? -ENOMEM
                               : r;
        default:
                return asprintf(ret_why, "cannot set %s=%s: %s", setting_name(s), want, strerror(-r)) < 0
                               ? -ENOMEM
                               : r;
        }
}

int delegate_params_apply(Manager *m, const KernelKnobs *k, char **ret_why)
{
        assert(m);
        assert(k);
        assert(ret_why);

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

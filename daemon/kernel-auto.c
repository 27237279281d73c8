/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-delegate.h"
#include "kernel-auto.h"
#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "message-ids.h"

int kernel_settings_new(KernelSettings **ret)
{
        KernelSettings *k;

        assert(ret);

        k = calloc(1, sizeof(KernelSettings));
        if (!k)
                return -ENOMEM;
        *ret = k;
        return 0;
}

KernelSettings *kernel_settings_free(KernelSettings *k)
{
        if (!k)
                return NULL;
        free(k->auto_fallback);
        free(k);
        return NULL;
}

KernelAutoOnline kernel_auto_mode(const Manager *m)
{
        assert(m);

        return m->kernel->auto_mode;
}

const char *kernel_auto_fallback(const Manager *m)
{
        assert(m);

        return m->kernel->auto_fallback;
}

bool kernel_auto_onlines_new(const Manager *m)
{
        const KernelSettings *k;

        assert(m);

        k = m->kernel;

        return k->auto_mode == KERNEL_AUTO_ONLINE_DELEGATE ||
               (k->auto_mode == KERNEL_AUTO_ONLINE_RESPECT && k->auto_original[0] &&
                !streq(k->auto_original, "offline"));
}

SavedSetting *kernel_setting(Manager *m, Setting s)
{
        assert(m);

        return &m->kernel->saved[s];
}

static bool took_over(Manager *m)
{
        return kernel_setting(m, SETTING_AUTO_ONLINE)->saved;
}

static void set_mode(Manager *m, KernelAutoOnline mode, char *fallback)
{
        m->kernel->auto_mode = mode;
        free(m->kernel->auto_fallback);
        m->kernel->auto_fallback = fallback;
        manager_mark_dirty(m, DIRTY_KERNEL);
}

void kernel_auto_restore(Manager *m)
{
        SavedSetting *st;
        int r;

        assert(m);

        st = kernel_setting(m, SETTING_AUTO_ONLINE);

        delegate_params_restore(m);
        if (!st->saved)
                return;
        r = setting_restore(m->sysfs, m->options.runtime_dir, SETTING_AUTO_ONLINE, st);
        if (r < 0)
                log_error_errno(r, "Failed to restore auto_online_blocks=%s: %m", st->original);
        else
                log_info("Restored the kernel's auto_online_blocks=%s", st->original);
        manager_mark_dirty(m, DIRTY_KERNEL);
        snprintf(m->kernel->auto_original, sizeof(m->kernel->auto_original), "%s", "offline");
}

static void run_as_respect(Manager *m, const char *const *fields)
{
        char current[32];

        kernel_auto_restore(m);
        if (memory_read_auto_online(m->sysfs, current, sizeof(current)) >= 0)
                snprintf(m->kernel->auto_original, sizeof(m->kernel->auto_original), "%s", current);
        log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                         "KernelAutoOnline=respect: the kernel's auto_online_blocks is %s%s",
                         m->kernel->auto_original,
                         streq(m->kernel->auto_original, "offline")
                                 ? "; every new block is ours"
                                 : "; handling only the blocks the kernel leaves offline");
}

static void fall_back(Manager *m, const char *const *fields, int error, char *why)
{
        log_fields_errno(LOG_WARNING, error, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                         "KernelAutoOnline=%s not possible, running as respect: %s",
                         kernel_auto_online_to_string(m->config->kernel_auto_online), strna(why));
        set_mode(m, KERNEL_AUTO_ONLINE_RESPECT, why);
}

/* Takeover without a saved original would lose it at the first crash (a restart would take the
 * "offline" we set for the kernel's own), so a failure to save it means no takeover at all. */
static int take_over(Manager *m, const char *const *fields, const char *want)
{
        _cleanup_(freep) char *path = NULL;
        SettingStep step;
        char *why = NULL;
        int r;

        r = setting_set(m->sysfs, m->options.runtime_dir, SETTING_AUTO_ONLINE,
                        kernel_setting(m, SETTING_AUTO_ONLINE), want, &step);
        if (r >= 0)
                return 0;
        if (step == SETTING_STEP_SAVE &&
            setting_record_path(m->options.runtime_dir, SETTING_AUTO_ONLINE, &path) >= 0) {
                if (asprintf(&why, "cannot save the original auto_online_blocks=%s to %s: %s",
                             m->kernel->auto_original, path, strerror(-r)) < 0)
                        why = NULL;
        } else if (asprintf(&why, "cannot set auto_online_blocks=%s: %s", want, strerror(-r)) < 0)
                why = NULL;
        fall_back(m, fields, r, why);
        return r;
}

/* Delegate: the kernel's own knobs, when the policy can be said in them (the value for
 * auto_online_blocks), or NULL and takeover, with *ret_why saying why not. */
static const char *delegate(Manager *m, char **ret_why)
{
        char why[256];
        KernelKnobs k;
        int r;

        if (!delegation_knobs(m->config, &k, why, sizeof(why))) {
                delegate_params_restore(m);
                *ret_why = strdup(why);
                return NULL;
        }
        r = delegate_params_apply(m, &k, ret_why);
        if (r < 0)
                return NULL;
        return k.auto_online_blocks;
}

/* The kernel onlines new blocks itself unless auto_online_blocks is "offline". With takeover we
 * switch that off while we run, with delegate we set it (and online_policy and its ratio) to what
 * the policy says; either way the old value is kept in the runtime directory, so that a restart
 * after a crash still knows what to restore. */
int kernel_auto_apply(Manager *m)
{
        const char *fields[] = { NULL, NULL };
        KernelAutoOnline mode;
        const char *want = "offline";
        char current[32], f_mode[64];
        char *why = NULL;
        int r;

        assert(m);

        mode = m->config->kernel_auto_online;

        r = memory_read_auto_online(m->sysfs, current, sizeof(current));
        if (r < 0) {
                m->kernel->auto_original[0] = '\0';
                set_mode(m, KERNEL_AUTO_ONLINE_RESPECT, NULL);
                return log_warning_errno(
                        r, "Failed to read auto_online_blocks, not coordinating with the kernel: %m");
        }
        if (mode == KERNEL_AUTO_ONLINE_DELEGATE) {
                want = delegate(m, &why);
                if (!want) {
                        log_warning("KernelAutoOnline=delegate not possible, taking over instead: %s",
                                    strna(why));
                        mode = KERNEL_AUTO_ONLINE_TAKEOVER;
                        want = "offline";
                }
        } else
                delegate_params_restore(m); /* a reload away from delegate */

        /* What we give back: the first original, kept across reloads and restarts. */
        snprintf(m->kernel->auto_original, sizeof(m->kernel->auto_original), "%s",
                 took_over(m) ? kernel_setting(m, SETTING_AUTO_ONLINE)->original : current);

        snprintf(f_mode, sizeof(f_mode), "KERNEL_AUTO_ONLINE=%s", m->kernel->auto_original);
        fields[0] = f_mode;

        if (mode == KERNEL_AUTO_ONLINE_RESPECT) {
                set_mode(m, KERNEL_AUTO_ONLINE_RESPECT, NULL);
                run_as_respect(m, fields);
                return 0;
        }
        if (!streq(current, want) || took_over(m)) {
                r = take_over(m, fields, want);
                if (r < 0) {
                        free(why);
                        delegate_params_restore(m);
                        run_as_respect(m, fields);
                        return r;
                }
        }
        set_mode(m, mode, why);
        if (mode == KERNEL_AUTO_ONLINE_DELEGATE)
                log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                                 "KernelAutoOnline=delegate: the kernel onlines new memory itself, "
                                 "auto_online_blocks=%s%s%s; memhotplugd handles what it leaves offline "
                                 "and reports what differs from the policy",
                                 want, took_over(m) ? ", was " : "",
                                 took_over(m) ? m->kernel->auto_original : "");
        else
                log_fields_errno(
                        LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                        "KernelAutoOnline=takeover: auto_online_blocks is offline while memhotplugd "
                        "runs%s%s%s",
                        took_over(m) ? " (was " : "", took_over(m) ? m->kernel->auto_original : "",
                        took_over(m) ? ", restored on exit)" : "");
        return 0;
}

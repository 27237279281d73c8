/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel-auto.h"
#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "message-ids.h"

/* Where the kernel's original auto_online_blocks is kept while we have taken over. */
#define KERNEL_AUTO_SAVE_FILE "kernel-auto-online"

static int save_path(Manager *m, char **ret)
{
        return asprintf(ret, "%s/%s", m->options.runtime_dir, KERNEL_AUTO_SAVE_FILE) < 0 ? -ENOMEM : 0;
}

static void set_mode(Manager *m, KernelAutoOnline mode, char *fallback)
{
        m->kernel_auto_mode = mode;
        free(m->kernel_auto_fallback);
        m->kernel_auto_fallback = fallback;
        manager_mark_dirty(m, DIRTY_KERNEL);
}

void kernel_auto_restore(Manager *m)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!m->took_over)
                return;
        r = memory_write_auto_online(m->sysfs, m->kernel_auto_original);
        if (r < 0)
                log_error_errno(r, "Failed to restore auto_online_blocks=%s: %m", m->kernel_auto_original);
        else
                log_info("Restored the kernel's auto_online_blocks=%s", m->kernel_auto_original);
        if (r >= 0 && save_path(m, &path) >= 0)
                (void)unlink(path);
        m->took_over = false;
        manager_mark_dirty(m, DIRTY_KERNEL);
        snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", "offline");
}

/* What a previous run saved and did not get to restore (it crashed): the kernel's real original,
 * if the kernel still shows the "offline" that run set. */
static void adopt_saved(Manager *m, const char *path, const char *current)
{
        char saved[32];
        int r;

        r = sysfs_read_at(AT_FDCWD, path, saved, sizeof(saved));
        if (r == -ENOENT)
                return;
        if (r < 0 || !auto_online_value_valid(saved)) {
                /* Not ours to trust: restoring it could write anything into the kernel. */
                log_warning_errno(r < 0 ? r : SYNTHETIC_ERRNO(EBADMSG),
                                  "Ignoring %s, which does not hold an auto_online_blocks value: %m", path);
                return;
        }
        if (!streq(current, "offline"))
                return;
        snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", saved);
        m->took_over = !streq(saved, "offline");
}

static void run_as_respect(Manager *m, const char *const *fields)
{
        char current[32];

        kernel_auto_restore(m);
        if (memory_read_auto_online(m->sysfs, current, sizeof(current)) >= 0)
                snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", current);
        log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                         "KernelAutoOnline=respect: the kernel's auto_online_blocks is %s%s",
                         m->kernel_auto_original,
                         streq(m->kernel_auto_original, "offline")
                                 ? "; every new block is ours"
                                 : "; handling only the blocks the kernel leaves offline");
}

static void fall_back(Manager *m, const char *path, const char *const *fields, int error, char *why)
{
        /* A file of an earlier run must not outlive a takeover that is not in effect. */
        (void)unlink(path);
        log_fields_errno(LOG_WARNING, error, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                         "KernelAutoOnline=takeover not possible, running as respect: %s", strna(why));
        set_mode(m, KERNEL_AUTO_ONLINE_RESPECT, why);
}

/* Takeover without a saved original would lose it at the first crash (a restart would take the
 * "offline" we set for the kernel's own), so a failure to save it means no takeover at all. */
static int take_over(Manager *m, const char *path, const char *const *fields)
{
        char value[sizeof(m->kernel_auto_original) + 1];
        char *why = NULL;
        int r;

        snprintf(value, sizeof(value), "%s\n", m->kernel_auto_original);
        r = write_file_atomic(path, value);
        if (r < 0) {
                if (asprintf(&why, "cannot save the original auto_online_blocks=%s to %s: %s",
                             m->kernel_auto_original, path, strerror(-r)) < 0)
                        why = NULL;
                fall_back(m, path, fields, r, why);
                return r;
        }
        r = memory_write_auto_online(m->sysfs, "offline");
        if (r < 0) {
                if (asprintf(&why, "cannot set auto_online_blocks=offline: %s", strerror(-r)) < 0)
                        why = NULL;
                fall_back(m, path, fields, r, why);
                return r;
        }
        m->took_over = true;
        return 0;
}

/* The kernel onlines new blocks itself unless auto_online_blocks is "offline". With takeover we
 * switch that off while we run and remember the old value in the runtime directory, so that a
 * restart after a crash still knows what to restore. */
int kernel_auto_apply(Manager *m)
{
        _cleanup_(freep) char *path = NULL;
        const char *fields[] = { NULL, NULL };
        char current[32], f_mode[64];
        int r;

        r = memory_read_auto_online(m->sysfs, current, sizeof(current));
        if (r < 0) {
                m->kernel_auto_original[0] = '\0';
                set_mode(m, KERNEL_AUTO_ONLINE_RESPECT, NULL);
                return log_warning_errno(
                        r, "Cannot read auto_online_blocks, not coordinating with the kernel: %m");
        }
        r = save_path(m, &path);
        if (r < 0)
                return log_oom();
        if (!m->took_over) {
                snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", current);
                adopt_saved(m, path, current);
        }

        snprintf(f_mode, sizeof(f_mode), "KERNEL_AUTO_ONLINE=%s", m->kernel_auto_original);
        fields[0] = f_mode;

        if (m->config->kernel_auto_online == KERNEL_AUTO_ONLINE_RESPECT) {
                set_mode(m, KERNEL_AUTO_ONLINE_RESPECT, NULL);
                run_as_respect(m, fields);
                return 0;
        }
        if (!streq(current, "offline")) {
                r = take_over(m, path, fields);
                if (r < 0) {
                        run_as_respect(m, fields);
                        return r;
                }
        }
        set_mode(m, KERNEL_AUTO_ONLINE_TAKEOVER, NULL);
        log_fields_errno(
                LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                "KernelAutoOnline=takeover: auto_online_blocks is offline while memhotplugd runs%s%s%s",
                m->took_over ? " (was " : "", m->took_over ? m->kernel_auto_original : "",
                m->took_over ? ", restored on exit)" : "");
        return 0;
}

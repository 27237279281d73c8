/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Runtime state is ours, not the kernel's: created if missing, unlike a sysfs attribute. */
static int write_runtime_file(const char *path, const char *value)
{
        _cleanup_(fclosep) FILE *f = NULL;

        f = fopen(path, "we");
        if (!f)
                return negative_errno();
        if (fputs(value, f) < 0 || fflush(f) != 0)
                return negative_errno();
        return 0;
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

/* The kernel onlines new blocks itself unless auto_online_blocks is "offline". With takeover we
 * switch that off while we run and remember the old value in the runtime directory, so that a
 * restart after a crash still knows what to restore. */
int kernel_auto_apply(Manager *m)
{
        _cleanup_(freep) char *path = NULL;
        char current[32], saved[32] = "";
        const char *fields[] = { NULL, NULL };
        char f_mode[64];
        int r;

        r = memory_read_auto_online(m->sysfs, current, sizeof(current));
        if (r < 0) {
                m->kernel_auto_original[0] = '\0';
                return log_warning_errno(
                        r, "Cannot read auto_online_blocks, not coordinating with the kernel: %m");
        }
        r = save_path(m, &path);
        if (r < 0)
                return log_oom();
        if (!m->took_over && sysfs_read_at(AT_FDCWD, path, saved, sizeof(saved)) > 0 &&
            streq(current, "offline")) {
                /* A previous run took over and did not get to restore: its value is the original. */
                snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", saved);
                m->took_over = !streq(saved, "offline");
        } else if (!m->took_over)
                snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", current);

        snprintf(f_mode, sizeof(f_mode), "KERNEL_AUTO_ONLINE=%s", m->kernel_auto_original);
        fields[0] = f_mode;

        if (m->config->kernel_auto_online == KERNEL_AUTO_ONLINE_RESPECT) {
                kernel_auto_restore(m);
                r = memory_read_auto_online(m->sysfs, current, sizeof(current));
                manager_mark_dirty(m, DIRTY_KERNEL);
                if (r >= 0)
                        snprintf(m->kernel_auto_original, sizeof(m->kernel_auto_original), "%s", current);
                log_fields_errno(LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                                 "KernelAutoOnline=respect: the kernel's auto_online_blocks is %s%s",
                                 m->kernel_auto_original,
                                 streq(m->kernel_auto_original, "offline")
                                         ? "; every new block is ours"
                                         : "; handling only the blocks the kernel leaves offline");
                return 0;
        }

        if (!streq(current, "offline")) {
                r = memory_write_auto_online(m->sysfs, "offline");
                if (r < 0)
                        return log_error_errno(
                                r, "KernelAutoOnline=takeover: cannot set auto_online_blocks=offline: %m");
                m->took_over = true;
                r = mkdir(m->options.runtime_dir, 0755);
                if (r < 0 && errno != EEXIST)
                        log_warning_errno(errno, "Cannot create %s, ignoring: %m", m->options.runtime_dir);
                r = write_runtime_file(path, m->kernel_auto_original);
                if (r < 0)
                        log_warning_errno(
                                r, "Cannot save the original auto_online_blocks to %s, ignoring: %m", path);
        }
        manager_mark_dirty(m, DIRTY_KERNEL);
        log_fields_errno(
                LOG_INFO, 0, MHP_MESSAGE_KERNEL_AUTO_ONLINE, fields,
                "KernelAutoOnline=takeover: auto_online_blocks is offline while memhotplugd runs%s%s%s",
                m->took_over ? " (was " : "", m->took_over ? m->kernel_auto_original : "",
                m->took_over ? ", restored on exit)" : "");
        return 0;
}

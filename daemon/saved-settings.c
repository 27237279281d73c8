/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel-info.h"
#include "macro.h"
#include "memblock.h"
#include "saved-settings.h"
#include "tiers.h"

static const struct {
        const char *name;   /* the kernel's attribute */
        const char *record; /* the record's file name in the runtime directory */
} settings[_SETTING_MAX] = {
        [SETTING_AUTO_ONLINE] = { "auto_online_blocks", "kernel-auto-online" },
        [SETTING_ONLINE_POLICY] = { "online_policy", "kernel-param-online_policy" },
        [SETTING_RATIO] = { "auto_movable_ratio", "kernel-param-auto_movable_ratio" },
        [SETTING_NUMA_AWARE] = { "auto_movable_numa_aware", "kernel-param-auto_movable_numa_aware" },
        [SETTING_DEMOTION] = { "demotion_enabled", "demotion-enabled" },
};

const char *setting_name(Setting s)
{
        return settings[s].name;
}

int setting_record_path(const char *dir, Setting s, char **ret)
{
        assert(dir);
        assert(ret);

        return asprintf(ret, "%s/%s", dir, settings[s].record) < 0 ? -ENOMEM : 0;
}

/* Only a value the kernel could show goes back into it: a record is a file anyone with access to
 * the runtime directory could have written. */
static bool value_valid(Setting s, const char *v)
{
        size_t n = strlen(v);

        switch (s) {
        case SETTING_AUTO_ONLINE:
                return auto_online_value_valid(v);
        case SETTING_ONLINE_POLICY:
                return streq(v, "contig-zones") || streq(v, "auto-movable");
        case SETTING_RATIO:
                if (n == 0 || n > 10)
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!isdigit((unsigned char)v[i]))
                                return false;
                return true;
        case SETTING_NUMA_AWARE:
                return streq(v, "Y") || streq(v, "N");
        case SETTING_DEMOTION:
                return streq(v, "true") || streq(v, "false");
        default:
                return false;
        }
}

int setting_read(Sysfs *sysfs, Setting s, char *buf, size_t size)
{
        bool on;
        int r;

        assert(sysfs);
        assert(buf);

        switch (s) {
        case SETTING_AUTO_ONLINE:
                r = memory_read_auto_online(sysfs, buf, size);
                break;
        case SETTING_DEMOTION:
                r = demotion_read(sysfs, &on);
                if (r >= 0)
                        r = snprintf(buf, size, "%s", on ? "true" : "false");
                break;
        default:
                r = kernel_read_hotplug_param(sysfs, settings[s].name, buf, size);
        }
        if (r < 0)
                return r;
        return value_valid(s, buf) ? 0 : -EBADMSG;
}

static int setting_write(Sysfs *sysfs, Setting s, const char *value)
{
        switch (s) {
        case SETTING_AUTO_ONLINE:
                return memory_write_auto_online(sysfs, value);
        case SETTING_DEMOTION:
                return demotion_write(sysfs, streq(value, "true"));
        default:
                return kernel_write_hotplug_param(sysfs, settings[s].name, value);
        }
}

/* "ORIGINAL INTENDED [WAS]". Files of earlier versions: "ORIGINAL INTENDED", and for
 * auto_online_blocks and demotion_enabled "ORIGINAL" alone (intended: offline, and the other
 * boolean). */
static int parse_record(Setting s, char *text, char *fields[static 3])
{
        char *save = NULL;
        size_t n = 0;

        for (char *w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                if (n == 3 || strlen(w) >= SETTING_VALUE_MAX || !value_valid(s, w))
                        return -EBADMSG;
                fields[n++] = w;
        }
        if (n == 0)
                return -EBADMSG;
        if (n == 1) {
                if (s == SETTING_AUTO_ONLINE)
                        fields[1] = (char *)"offline";
                else if (s == SETTING_DEMOTION)
                        fields[1] = (char *)(streq(fields[0], "true") ? "false" : "true");
                else
                        return -EBADMSG;
        }
        if (n < 3)
                fields[2] = fields[0];
        return 0;
}

int setting_recover(Sysfs *sysfs, const char *dir, Setting s, SavedSetting *st, char *ret_current,
                    size_t size)
{
        _cleanup_(freep) char *path = NULL;
        char text[4 * SETTING_VALUE_MAX], *f[3];
        int r;

        assert(sysfs);
        assert(dir);
        assert(st);
        assert(ret_current);

        r = setting_record_path(dir, s, &path);
        if (r < 0)
                return r;
        /* A kill during an atomic write leaves its temporary file, which nothing else removes. */
        (void)remove_stale_temporaries(path);

        r = sysfs_read_at(AT_FDCWD, path, text, sizeof(text));
        if (r == -ENOENT || r == -ENOTDIR)
                return SETTING_RECOVERED_NONE;
        if (r < 0)
                return r;
        if (parse_record(s, text, f) < 0) {
                (void)unlink(path);
                return -EBADMSG;
        }
        /* Without the kernel's value nothing can be decided: the record waits for a later start. */
        r = setting_read(sysfs, s, ret_current, size);
        if (r < 0)
                return r;

        if (!streq(ret_current, f[0]) && (streq(ret_current, f[1]) || streq(ret_current, f[2]))) {
                st->saved = true;
                snprintf(st->original, sizeof(st->original), "%s", f[0]);
                snprintf(st->intended, sizeof(st->intended), "%s", ret_current);
                return SETTING_RECOVERED_OURS;
        }
        /* The original again (killed before the write, or after a restore's), or someone else's. */
        (void)unlink(path);
        return streq(ret_current, f[0]) ? SETTING_RECOVERED_NONE : SETTING_RECOVERED_THEIRS;
}

int setting_restore(Sysfs *sysfs, const char *dir, Setting s, SavedSetting *st)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        assert(sysfs);
        assert(dir);
        assert(st);

        if (!st->saved)
                return 0;
        r = setting_record_path(dir, s, &path);
        if (r < 0)
                return r;
        /* The record goes only once the kernel has its value back: a failed write is retried by the
         * next stop or start. */
        r = setting_write(sysfs, s, st->original);
        if (r < 0)
                return r;
        (void)unlink(path);
        st->saved = false;
        return 1;
}

int setting_set(Sysfs *sysfs, const char *dir, Setting s, SavedSetting *st, const char *want,
                SettingStep *ret_step)
{
        _cleanup_(freep) char *path = NULL;
        char current[SETTING_VALUE_MAX], record[4 * SETTING_VALUE_MAX];
        const char *original;
        bool first;
        int r;

        assert(sysfs);
        assert(dir);
        assert(st);
        assert(want);
        assert(ret_step);

        first = !st->saved;
        *ret_step = SETTING_STEP_READ;
        r = setting_read(sysfs, s, current, sizeof(current));
        if (r < 0)
                return r;
        *ret_step = SETTING_STEP_WRITE;
        if (st->saved && streq(want, st->original))
                return setting_restore(sysfs, dir, s, st);
        if (streq(current, want) && (first || streq(st->intended, want)))
                return 0;
        if (strlen(want) >= SETTING_VALUE_MAX || !value_valid(s, want))
                return -EINVAL;

        *ret_step = SETTING_STEP_SAVE;
        r = setting_record_path(dir, s, &path);
        if (r < 0)
                return r;
        /* The intent first, where a restart finds it: never change what cannot be given back, and
         * let the next start tell our value from someone else's at any kill point. */
        original = first ? current : st->original;
        if (streq(current, original))
                snprintf(record, sizeof(record), "%s %s\n", original, want);
        else
                snprintf(record, sizeof(record), "%s %s %s\n", original, want, current);
        r = write_file_atomic(path, record);
        if (r < 0)
                return r;
        if (first)
                snprintf(st->original, sizeof(st->original), "%s", current);
        st->saved = true;
        snprintf(st->intended, sizeof(st->intended), "%s", want);

        *ret_step = SETTING_STEP_WRITE;
        r = setting_write(sysfs, s, want);
        if (r < 0) {
                /* The kernel keeps current. Our first write: nothing of ours in effect, no record.
                 * Else current is the WAS of the record, and ours still. */
                if (first) {
                        (void)unlink(path);
                        st->saved = false;
                } else
                        snprintf(st->intended, sizeof(st->intended), "%s", current);
                return r;
        }
        return 1;
}

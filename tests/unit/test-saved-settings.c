/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "saved-settings.h"
#include "tap.h"

/* The record-before-write protocol of saved-settings.h over a temporary sysfs root: the first
 * original kept across re-saves, and what a start finds after a kill at any point, told apart by
 * what the kernel shows. */

static char tmp[256], root[300], run[300];
static Sysfs *sysfs;

static void put(const char *rel, const char *value)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "we");
        if (!f || fprintf(f, "%s\n", value) < 0 || fclose(f) != 0)
                abort();
}

/* The file's first line, "(none)" without one. */
static const char *get(const char *path, char *buf, size_t size)
{
        return sysfs_read_at(AT_FDCWD, path, buf, size) < 0 ? "(none)" : buf;
}

static const char *knob(const char *rel)
{
        static char buf[64];
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        return get(path, buf, sizeof(buf));
}

static const char *record(Setting s)
{
        static char buf[128];
        _cleanup_(freep) char *path = NULL;

        if (setting_record_path(run, s, &path) < 0)
                abort();
        return get(path, buf, sizeof(buf));
}

static void put_record(Setting s, const char *text)
{
        _cleanup_(freep) char *path = NULL;

        if (setting_record_path(run, s, &path) < 0 || write_file_atomic(path, text) < 0)
                abort();
}

#define AUTO     "devices/system/memory/auto_online_blocks"
#define POLICY   "module/memory_hotplug/parameters/online_policy"
#define DEMOTION "kernel/mm/numa/demotion_enabled"

/* A start that finds the record and the kernel's value: what it adopts. */
static void recover(const char *name, const char *text, const char *kernel, int want, const char *original,
                    const char *left)
{
        SavedSetting st = {};
        char current[SETTING_VALUE_MAX];

        put_record(SETTING_AUTO_ONLINE, text);
        put(AUTO, kernel);
        tap_is_int(setting_recover(sysfs, run, SETTING_AUTO_ONLINE, &st, current, sizeof(current)), want,
                   "recover, %s: found", name);
        tap_ok(st.saved == (want == SETTING_RECOVERED_OURS), "recover, %s: ours to give back or not", name);
        if (original)
                tap_is_str(st.original, original, "recover, %s: the original", name);
        tap_is_str(record(SETTING_AUTO_ONLINE), left, "recover, %s: the record", name);
        tap_is_str(knob(AUTO), kernel, "recover, %s: the kernel's value not written", name);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)remove(path);
        return 0;
}

int main(void)
{
        SavedSetting st = {}, d = {};
        SettingStep step;
        char path[512], current[SETTING_VALUE_MAX];

        snprintf(tmp, sizeof(tmp), "%s/test-saved-settings.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(tmp)) {
                printf("Bail out! mkdtemp: %s\n", strerror(errno));
                return 1;
        }
        snprintf(root, sizeof(root), "%s/sys", tmp);
        snprintf(run, sizeof(run), "%s/run", tmp);
        for (const char *const *dir =
                     (const char *const[]){ "devices/system/memory", "module/memory_hotplug/parameters",
                                            "kernel/mm/numa", NULL };
             *dir; dir++) {
                snprintf(path, sizeof(path), "%s/%s", root, *dir);
                if (mkdir_p(path, 0755) < 0)
                        abort();
        }
        put(AUTO, "online_kernel");
        put(POLICY, "contig-zones");
        put(DEMOTION, "false");
        if (sysfs_new(root, &sysfs) < 0) {
                printf("Bail out! sysfs_new\n");
                return 1;
        }

        /* A takeover, a reload to delegate's value, a reload back to the kernel's own. */
        tap_is_int(setting_set(sysfs, run, SETTING_AUTO_ONLINE, &st, "offline", &step), 1, "set: written");
        tap_is_str(record(SETTING_AUTO_ONLINE), "online_kernel offline",
                   "set: the record, original and intended");
        tap_is_str(knob(AUTO), "offline", "set: the kernel's value");
        tap_is_int(setting_set(sysfs, run, SETTING_AUTO_ONLINE, &st, "offline", &step), 0,
                   "set again: nothing to do");
        tap_is_int(setting_set(sysfs, run, SETTING_AUTO_ONLINE, &st, "online_movable", &step), 1,
                   "re-save: written");
        tap_is_str(record(SETTING_AUTO_ONLINE), "online_kernel online_movable offline",
                   "re-save: the first original kept, the value it replaces named");
        tap_is_str(st.original, "online_kernel", "re-save: the first original in memory");
        tap_is_int(setting_set(sysfs, run, SETTING_AUTO_ONLINE, &st, "online_kernel", &step), 1,
                   "set to the original: a restore");
        tap_is_str(knob(AUTO), "online_kernel", "set to the original: the kernel's value back");
        tap_is_str(record(SETTING_AUTO_ONLINE), "(none)", "set to the original: no record left");
        tap_ok(!st.saved, "set to the original: nothing to give back");

        /* online_policy as in a delegate reload from Online=auto-movable to Online=online. */
        tap_is_int(setting_set(sysfs, run, SETTING_ONLINE_POLICY, &d, "auto-movable", &step), 1,
                   "policy: set");
        tap_is_str(record(SETTING_ONLINE_POLICY), "contig-zones auto-movable", "policy: the record");
        tap_is_int(setting_set(sysfs, run, SETTING_ONLINE_POLICY, &d, "contig-zones", &step), 1,
                   "policy: reload");
        tap_is_str(knob(POLICY), "contig-zones", "policy: the kernel's own again");
        tap_is_str(record(SETTING_ONLINE_POLICY), "(none)",
                   "policy: no record that names ours as the original");
        tap_is_int(setting_set(sysfs, run, SETTING_ONLINE_POLICY, &d, "sideways", &step), -EINVAL,
                   "policy: a value the kernel would not take is refused");

        /* What a start finds after a kill, by the kernel's value. */
        recover("killed after the write", "online_kernel offline\n", "offline", SETTING_RECOVERED_OURS,
                "online_kernel", "online_kernel offline");
        recover("a second takeover killed between its record and its write",
                "online_kernel online_movable offline\n", "offline", SETTING_RECOVERED_OURS, "online_kernel",
                "online_kernel online_movable offline");
        recover("a second takeover killed after its write", "online_kernel online_movable offline\n",
                "online_movable", SETTING_RECOVERED_OURS, "online_kernel",
                "online_kernel online_movable offline");
        recover("killed before the first write", "online_kernel offline\n", "online_kernel",
                SETTING_RECOVERED_NONE, NULL, "(none)");
        recover("someone else's value since", "online_kernel offline\n", "online", SETTING_RECOVERED_THEIRS,
                NULL, "(none)");
        recover("a record of no valid value", "online_kernel bogus\n", "offline", -EBADMSG, NULL, "(none)");
        recover("a record of four values", "online offline online offline\n", "offline", -EBADMSG, NULL,
                "(none)");
        recover("an earlier version's record (the original alone)", "online_kernel\n", "offline",
                SETTING_RECOVERED_OURS, "online_kernel", "online_kernel");

        /* The temporary file of a killed atomic write goes at start. */
        snprintf(path, sizeof(path), "%s/kernel-auto-online.Ab12Cd", run);
        if (write_file_atomic(path, "online_kernel offline\n") < 0)
                abort();
        recover("with a temporary file left", "online_kernel offline\n", "online_kernel",
                SETTING_RECOVERED_NONE, NULL, "(none)");
        tap_ok(access(path, F_OK) < 0 && errno == ENOENT, "recover: the temporary file removed");

        /* demotion_enabled, and an earlier version's record of it (the original alone). */
        put_record(SETTING_DEMOTION, "false\n");
        put(DEMOTION, "true");
        st = (SavedSetting){};
        tap_is_int(setting_recover(sysfs, run, SETTING_DEMOTION, &st, current, sizeof(current)),
                   SETTING_RECOVERED_OURS, "demotion: an earlier version's record, the kernel shows ours");
        tap_is_str(st.original, "false", "demotion: the original");

        /* A restore whose write fails keeps the record for the next stop or start. */
        snprintf(path, sizeof(path), "%s/%s", root, DEMOTION);
        if (unlink(path) < 0 || mkdir(path, 0755) < 0)
                abort();
        tap_ok(setting_restore(sysfs, run, SETTING_DEMOTION, &st) < 0, "restore: the write fails");
        tap_is_str(record(SETTING_DEMOTION), "false", "restore: the record stays after a failed write");
        tap_ok(st.saved, "restore: still ours to give back");
        if (rmdir(path) < 0)
                abort();
        put(DEMOTION, "true");
        tap_is_int(setting_restore(sysfs, run, SETTING_DEMOTION, &st), 1, "restore: written");
        tap_is_str(knob(DEMOTION), "false", "restore: the kernel's value back");
        tap_is_str(record(SETTING_DEMOTION), "(none)", "restore: the record removed after the write");

        sysfs_free(sysfs);
        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}

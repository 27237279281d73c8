/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "sysfs.h"

/* Every kernel setting the daemon changes, with one protocol that makes any kill point
 * recoverable and gives the kernel's first original back on every exit path.
 *
 * The record, a file in the runtime directory written atomically (fileio.h), holds
 * "ORIGINAL INTENDED [WAS]": the kernel's value before the daemon first changed it, the value the
 * daemon is about to write, and (when it differs from ORIGINAL) the value the kernel shows before
 * that write (one the daemon set earlier, at a reload). It is written BEFORE the knob:
 *
 *   set:     record "ORIGINAL WANT [CURRENT]" -> write WANT (a failed first write removes the
 *            record again: nothing changed). ORIGINAL is kept across re-saves and reloads.
 *   restore: write ORIGINAL -> remove the record (only after the write succeeded).
 *   start:   remove the temporary files of an atomic write a kill left behind, then read the record
 *            against the kernel: it shows ORIGINAL (killed before the write, or after a restore's
 *            write): the record goes; INTENDED or WAS (ours): ORIGINAL is ours to give back; any
 *            other value: someone set it since, theirs, and the record goes.
 *
 * Helpers only: they return negative errno and never log. */

#define SETTING_VALUE_MAX 32

typedef enum Setting {
        SETTING_AUTO_ONLINE,   /* devices/system/memory/auto_online_blocks */
        SETTING_ONLINE_POLICY, /* module/memory_hotplug/parameters/online_policy */
        SETTING_RATIO,         /* … auto_movable_ratio */
        SETTING_NUMA_AWARE,    /* … auto_movable_numa_aware */
        SETTING_DEMOTION,      /* kernel/mm/numa/demotion_enabled */
        _SETTING_MAX,
} Setting;

typedef struct SavedSetting {
        bool saved;                       /* a record names original: ours to give back */
        char original[SETTING_VALUE_MAX]; /* the kernel's value before we first changed it */
        char intended[SETTING_VALUE_MAX]; /* what we wrote last (or were about to) */
} SavedSetting;

/* Which step of setting_set() failed. */
typedef enum SettingStep {
        SETTING_STEP_READ,
        SETTING_STEP_SAVE,
        SETTING_STEP_WRITE,
} SettingStep;

/* What setting_recover() found. */
typedef enum SettingRecovered {
        SETTING_RECOVERED_NONE,   /* no record, or the kernel shows its original again */
        SETTING_RECOVERED_OURS,   /* the kernel shows what a previous run set: original adopted */
        SETTING_RECOVERED_THEIRS, /* someone set it since: the record is dropped */
} SettingRecovered;

/* The kernel attribute's name ("auto_online_blocks"), and the record's path in dir. */
const char *setting_name(Setting s);
int setting_record_path(const char *dir, Setting s, char **ret);

/* The kernel's value, as the record holds it. */
int setting_read(Sysfs *sysfs, Setting s, char *buf, size_t size);

/* At start, before anything is written: returns a SettingRecovered, -EBADMSG for a record that
 * holds no valid value (removed), or the error reading the record or the kernel (the record stays,
 * for a later start). */
int setting_recover(Sysfs *sysfs, const char *dir, Setting s, SavedSetting *st, char *ret_current,
                    size_t size);

/* Makes the kernel show want: 1 if it wrote, 0 if the kernel showed it already. want equal to the
 * saved original is a restore. On failure *ret_step says which step failed; a failed write leaves
 * st as the kernel has it (saved if an earlier write of ours is still in effect). */
int setting_set(Sysfs *sysfs, const char *dir, Setting s, SavedSetting *st, const char *want,
                SettingStep *ret_step);

/* Writes the saved original back, then removes the record: 1 if it did, 0 with nothing saved. */
int setting_restore(Sysfs *sysfs, const char *dir, Setting s, SavedSetting *st);

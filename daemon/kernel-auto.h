/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "saved-settings.h"

/* The kernel settings the daemon changes and what it knows of them: written by kernel-auto.c,
 * kernel-delegate.c and tiering.c only; the rest of the daemon reads them through the functions
 * below. */
typedef struct KernelSettings {
        SavedSetting saved[_SETTING_MAX]; /* the kernel's values we changed (saved-settings.h) */
        /* The kernel's auto_online_blocks: what we restore on stop if we took over. */
        char auto_original[32];
        KernelAutoOnline auto_mode; /* in effect: the config's, or respect if takeover failed */
        char *auto_fallback;        /* why the configured mode is not in effect, or NULL */
        bool tiering_checked[NODE_INDEX_MAX + 1]; /* nodes whose tier warning was considered */
} KernelSettings;

int kernel_settings_new(KernelSettings **ret);
KernelSettings *kernel_settings_free(KernelSettings *k);

/* KernelAutoOnline= in effect, and why it is not the configured one (NULL when it is). */
KernelAutoOnline kernel_auto_mode(const Manager *m);
const char *kernel_auto_fallback(const Manager *m);
/* The kernel onlines new blocks itself: delegated to it, or respected as it was set. */
bool kernel_auto_onlines_new(const Manager *m);
/* The record of a setting the daemon changes (saved-settings.h). */
SavedSetting *kernel_setting(Manager *m, Setting s);

/* Coordination with the kernel's own onlining of new blocks (auto_online_blocks), as
 * KernelAutoOnline= says: takeover sets it to offline while we run and restores it on stop; the
 * original value is kept in the runtime directory so a restart after a crash restores it too. */
int kernel_auto_apply(Manager *m);
void kernel_auto_restore(Manager *m);

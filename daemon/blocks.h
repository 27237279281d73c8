/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* What happens to a memory block when it appears or changes: read its facts from sysfs, ask the
 * policy (or its device's rule), and queue it or say why not. */

/* A "memory" uevent. */
void blocks_on_uevent(Manager *m, const char *action, const char *sysname);
/* Handles every block not seen yet; with all, also the ones the policy or a failure left offline
 * (after a reload, the policy may say otherwise now). Blocks that vanished are forgotten. */
int blocks_scan(Manager *m, bool all);
/* Decides again for these blocks (their device's decision came or changed): the offline ones that
 * are not queued and that nobody offlined on purpose. */
void blocks_reconsider(Manager *m, const unsigned *indices, size_t n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* The blocks offlined on purpose (BLOCK_USER_OFFLINE), kept in the runtime directory so that a
 * restarted daemon does not online them again: a block offlined by PrepareUnplug and waiting for
 * its eject, or by an administrator with chmem, stays offline across "systemctl restart". The
 * runtime directory is a tmpfs, so a reboot forgets them, as it forgets the blocks. */

#define OFFLINE_MARKS_FILE "offlined"

/* Marks the listed blocks (before the start scan). A missing file is no error. */
int offline_marks_load(Manager *m);
/* Writes the marks of the present blocks, if they changed since the last call. Atomic: a crash
 * leaves the old file or the new one. */
int offline_marks_save(Manager *m);

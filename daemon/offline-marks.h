/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* The blocks offlined on purpose (held: Block.hold), kept in the runtime directory so that a
 * restarted daemon does not online them again: a block offlined by PrepareUnplug and waiting for
 * its eject, or by an administrator with chmem, stays offline across "systemctl restart". The
 * runtime directory is a tmpfs, so a reboot forgets them, as it forgets the blocks. */

#define OFFLINE_MARKS_FILE "offlined"

/* What was saved last, and the source that saves after each loop iteration. */
typedef struct OfflineMarks {
        sd_event_source *source;
        unsigned saved; /* the set last saved: its size and sum */
        uint64_t sum;
        bool failing; /* the last save failed */
} OfflineMarks;

/* save runs after each loop iteration, with userdata; it calls offline_marks_save(). */
int offline_marks_new(sd_event *e, sd_event_handler_t save, void *userdata, OfflineMarks **ret);
OfflineMarks *offline_marks_free(OfflineMarks *k);

/* Marks the listed blocks (before the start scan). A missing file is no error. */
int offline_marks_load(Manager *m);
/* Writes the marks of the present blocks, if they changed since the last call. Atomic: a crash
 * leaves the old file or the new one. Needs m->marks. */
int offline_marks_save(Manager *m);
/* The last save failed (and was said): the next failure is the same one. */
bool offline_marks_failing(const Manager *m);

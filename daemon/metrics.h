/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "manager.h"
#include "outcome-types.h"

/* The daemon's state for Prometheus, in its text exposition format: what the block table, the
 * placement counts and the kernel settings say now, and counters that only the outcome stage can
 * keep (every block outcome and every finished job goes through it: outcome.c feeds them here, and
 * nothing else does). The text is made at most once per change, for the bus (GetMetrics) and for
 * the file node_exporter's textfile collector reads (MetricsFile=), which is replaced atomically
 * once per finished job, or once the loop is idle after a change outside a job: never per block. */

typedef struct Metrics Metrics;

/* Where the manager hears how a write of the file went (only the manager logs): r is 0 or a
 * negative errno; called when it differs from the last write's. */
typedef void (*MetricsWrittenFn)(void *userdata, const char *path, int r);

/* Made at start, once the config is loaded: the file's path is resolved then and at every reload
 * (metrics_set_path()). */
int metrics_new(Manager *m, MetricsWrittenFn written, void *userdata, Metrics **ret);
Metrics *metrics_free(Metrics *x);
/* The file to keep, or NULL for none. Returns how many temporary files a killed write left (they
 * are removed), or a negative errno. */
int metrics_set_path(Metrics *x, const char *path);

/* The outcome stage's feed. */
void metrics_block(Manager *m, const Outcome *o);
void metrics_job_finished(Manager *m, const Job *job);
/* Something the text shows changed (manager_mark_dirty()). */
void metrics_changed(Manager *m);

/* The text as of now; valid until the next change. */
int metrics_text(Manager *m, const char **ret);
/* Writes the file now if there is one (tests, and the end of a job). */
int metrics_flush(Manager *m);

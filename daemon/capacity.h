/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/* The online memory, in total and per node, as one capacity-changed event announces it. The outcome
 * stage compares it after every job with the last one announced, and a change is an event: a new
 * sequence number, the runtime file rewritten (CAPACITY_FILE, which memhotplugd-capacity.path
 * watches), the CapacityChanged signal. The file is the record of the last event, so it survives
 * a restart of the daemon, which announces nothing as long as the memory is what the file says. */

#define CAPACITY_FILE "capacity"

typedef struct Capacity {
        uint64_t sequence;     /* 0: none announced yet */
        uint64_t online;       /* bytes online, every node */
        uint64_t *node_online; /* bytes online by node number, n_nodes of them */
        size_t n_nodes;
} Capacity;

void capacity_done(Capacity *c);
/* The block table's online memory (sequence 0). */
int capacity_measure(const Manager *m, Capacity *ret);
/* The same memory, whatever the sequence numbers. */
bool capacity_equal(const Capacity *a, const Capacity *b);
/* The file's text (an environment file that systemd's EnvironmentFile= and sh read), and back.
 * -EBADMSG for text that is not such a file. */
int capacity_format(const Capacity *c, char **ret);
int capacity_parse(const char *text, Capacity *ret);
/* CAPACITY_FILE in dir: -ENOENT when there is none. */
int capacity_load(const char *dir, Capacity *ret);
int capacity_save(const char *dir, const Capacity *c);
/* Removes the temporary files of a save that a kill cut short: at every start, before anything can
 * fail (as the kernel settings' records), so that even a start that fails leaves none. */
int capacity_remove_temporaries(const char *dir);

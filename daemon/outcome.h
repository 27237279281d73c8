/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "capacity.h"
#include "manager.h"
#include "outcome-types.h"

/* Every outcome of a block goes through outcome_block(): the core's own part (the properties that
 * changed) and then the subscriber, which is the bus when there is one. The core never calls the
 * bus: the bus subscribes here at bus_setup() and unsubscribes at bus_free(). The job's counters are
 * the onliner's (onliner_job()): it counts an outcome of the job before it reports it here. The
 * subscriber and the properties that changed are this stage's state (Outcomes, made with the
 * Manager: the core marks changes before the bus is up). */

typedef struct OutcomeSubscriber {
        void (*block)(void *userdata, const Outcome *o);
        /* The queue ran dry; job is the finished job (onliner_job() is already reset). */
        void (*job_finished)(void *userdata, const Job *job);
        /* The daemon is stopping: whoever still waits for a block is told so now. */
        void (*stopping)(void *userdata);
        /* A DIRTY_* flag was set: outcome_take_dirty() says which, once the work at hand is done. */
        void (*changed)(void *userdata);
        /* A capacity-changed event: the online memory differs from the last event's, after a job. */
        void (*capacity_changed)(void *userdata, const Capacity *c);
        /* A dax device's whole-device hotplug state, or its agreement with its blocks, changed. */
        void (*device_changed)(void *userdata, const char *name);
} OutcomeSubscriber;

int outcome_new(Outcomes **ret);
Outcomes *outcome_free(Outcomes *o);

/* One subscriber at a time (-EBUSY otherwise). */
int outcome_subscribe(Manager *m, const OutcomeSubscriber *s, void *userdata);
void outcome_unsubscribe(Manager *m, const OutcomeSubscriber *s);

/* These properties changed (DIRTY_*): the stages below mark them through manager_mark_dirty(). */
void outcome_mark_dirty(Manager *m, unsigned what);
/* The bus: what changed since it last took the flags (outcome_dirty() leaves them set). */
unsigned outcome_dirty(const Manager *m);
unsigned outcome_take_dirty(Manager *m);

void outcome_block(Manager *m, const Outcome *o);
/* The job is over: the subscriber hears it, then the online memory is compared with the last
 * capacity-changed event (outcome_capacity_check()). */
int outcome_job_finished(Manager *m, const Job *job, const Capacity **ret_event);
/* At start, before any block is handled: the last event, from the runtime file a previous run left
 * (-ENOENT: none; any error leaves no event, so the first check announces the memory online). */
int outcome_capacity_load(Manager *m);
/* When the online memory differs from the last event's, this is a new one: its sequence number is
 * the next, it is written to the runtime file (CAPACITY_FILE) and the subscriber hears it. Called
 * where a job ends and once at start, never per block, so a hot-add or an unplug is one event
 * however many blocks it has. Returns 1 and the event in *ret_event when there was one, 0 when
 * nothing changed; a negative errno when the file could not be written, with the event in
 * *ret_event all the same (the subscriber heard it; the next check writes the file again). */
int outcome_capacity_check(Manager *m, const Capacity **ret_event);
void outcome_stopping(Manager *m);
/* A dax device's record or blocks changed: its daxX.Y/state is judged again once the loop is idle
 * and no job is under way (devices_hotplug_refresh()), so a chunk or a burst is one read a device. */
void outcome_devices_touched(Manager *m);
void outcome_device_changed(Manager *m, const char *name);

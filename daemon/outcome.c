/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "devices.h"
#include "metrics.h"
#include "onliner.h"
#include "outcome.h"

struct Outcomes {
        const OutcomeSubscriber *subscriber; /* the bus, once it is set up */
        void *userdata;
        unsigned dirty;                  /* DIRTY_*: not announced yet */
        Capacity capacity;               /* the last capacity-changed event (sequence 0: none yet) */
        bool capacity_dirty;             /* ... which is not in the runtime file yet */
        sd_event_source *devices_source; /* judges the touched dax devices once the loop is idle */
};

int outcome_new(Outcomes **ret)
{
        Outcomes *o;

        assert(ret);

        o = calloc(1, sizeof(Outcomes));
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

Outcomes *outcome_free(Outcomes *o)
{
        if (!o)
                return NULL;
        capacity_done(&o->capacity);
        sd_event_source_disable_unref(o->devices_source);
        free(o);
        return NULL;
}

int outcome_subscribe(Manager *m, const OutcomeSubscriber *s, void *userdata)
{
        Outcomes *o;

        assert(m);
        assert(s);

        o = m->outcomes;
        if (o->subscriber)
                return -EBUSY;
        o->subscriber = s;
        o->userdata = userdata;
        return 0;
}

void outcome_unsubscribe(Manager *m, const OutcomeSubscriber *s)
{
        Outcomes *o;

        assert(m);
        assert(s);

        o = m->outcomes;
        if (o->subscriber != s)
                return;
        o->subscriber = NULL;
        o->userdata = NULL;
}

void outcome_mark_dirty(Manager *m, unsigned what)
{
        Outcomes *o;

        assert(m);

        o = m->outcomes;
        o->dirty |= what;
        metrics_changed(m);
        /* A device's record changed (an event, a conversion, a reload): its state is read again. */
        if (what & DIRTY_DEVICES)
                devices_hotplug_touch_all(m);
        if (o->subscriber && o->subscriber->changed)
                o->subscriber->changed(o->userdata);
}

unsigned outcome_dirty(const Manager *m)
{
        assert(m);

        return m->outcomes->dirty;
}

unsigned outcome_take_dirty(Manager *m)
{
        unsigned what;

        assert(m);

        what = m->outcomes->dirty;
        m->outcomes->dirty = 0;
        return what;
}

void outcome_block(Manager *m, const Outcome *o)
{
        const OutcomeSubscriber *s;

        assert(m);
        assert(o);

        /* The core's part first: a subscriber that asks the core again sees the properties marked. The
         * job's counters are the onliner's, counted before it reports the outcome (onliner.h). */

        switch (o->kind) {
        case OUTCOME_STATE_CHANGED:
                outcome_mark_dirty(m, DIRTY_TOTALS);
                break;
        case OUTCOME_HANDLED:
        case OUTCOME_WITHDRAWN:
                outcome_mark_dirty(m, DIRTY_JOB);
                break;
        case OUTCOME_REMOVED:
                break;
        }
        metrics_block(m, o);
        if (o->kind == OUTCOME_STATE_CHANGED || o->kind == OUTCOME_REMOVED || o->kind == OUTCOME_HANDLED)
                (void)devices_hotplug_touch_block(m, o->index);
        s = m->outcomes->subscriber;
        if (s && s->block)
                s->block(m->outcomes->userdata, o);
}

int outcome_job_finished(Manager *m, const Job *job, const Capacity **ret_event)
{
        const OutcomeSubscriber *s;

        assert(m);
        assert(job);
        assert(ret_event);

        /* The job is counted and the metrics file written before the subscriber is told. */
        metrics_job_finished(m, job);
        /* The devices a job touched waited for its end. */
        if (devices_hotplug_stale(m))
                outcome_devices_touched(m);
        s = m->outcomes->subscriber;
        if (s && s->job_finished)
                s->job_finished(m->outcomes->userdata, job);
        return outcome_capacity_check(m, ret_event);
}

int outcome_capacity_load(Manager *m)
{
        Capacity c;
        int r;

        assert(m);

        r = capacity_load(m->options.runtime_dir, &c);
        if (r < 0)
                return r;
        capacity_done(&m->outcomes->capacity);
        m->outcomes->capacity = c;
        return 0;
}

int outcome_capacity_check(Manager *m, const Capacity **ret_event)
{
        Outcomes *o;
        const OutcomeSubscriber *s;
        Capacity now;
        int r;

        assert(m);
        assert(ret_event);

        o = m->outcomes;
        *ret_event = NULL;

        r = capacity_measure(m, &now);
        if (r < 0)
                return r;
        if (o->capacity.sequence > 0 && capacity_equal(&now, &o->capacity)) {
                capacity_done(&now);
                if (!o->capacity_dirty)
                        return 0;
                /* The last event's write failed: the file says less than the signal did. */
                r = capacity_save(m->options.runtime_dir, &o->capacity);
                if (r >= 0)
                        o->capacity_dirty = false;
                return r < 0 ? r : 0;
        }
        now.sequence = o->capacity.sequence + 1;
        capacity_done(&o->capacity);
        o->capacity = now;
        *ret_event = &o->capacity;

        /* The file first: a unit the path unit starts reads it, and may do so before a subscriber
         * of the signal hears anything. */
        r = capacity_save(m->options.runtime_dir, &o->capacity);
        o->capacity_dirty = r < 0;
        s = o->subscriber;
        if (s && s->capacity_changed)
                s->capacity_changed(o->userdata, &o->capacity);
        return r < 0 ? r : 1;
}

void outcome_stopping(Manager *m)
{
        const OutcomeSubscriber *s;

        assert(m);

        s = m->outcomes->subscriber;
        if (s && s->stopping)
                s->stopping(m->outcomes->userdata);
}

static int on_devices_idle(sd_event_source *source, void *userdata)
{
        Manager *m = userdata;

        /* A job under way still writes blocks of its devices: its end touches them again. */
        if (m->onliner && onliner_job(m->onliner)->total > 0)
                return 0;
        devices_hotplug_refresh(m);
        return 0;
}

void outcome_devices_touched(Manager *m)
{
        Outcomes *o;
        int r;

        assert(m);

        o = m->outcomes;
        if (!o->devices_source) {
                r = sd_event_add_defer(m->event, &o->devices_source, on_devices_idle, m);
                if (r < 0) {
                        /* No source: judged now, which is only sooner than it needs to be. */
                        (void)on_devices_idle(NULL, m);
                        return;
                }
                /* Idle: after the uevents already on the socket, so that a burst is one read. */
                (void)sd_event_source_set_priority(o->devices_source, SD_EVENT_PRIORITY_IDLE);
                (void)sd_event_source_set_description(o->devices_source, "devices-report");
        }
        (void)sd_event_source_set_enabled(o->devices_source, SD_EVENT_ONESHOT);
}

void outcome_device_changed(Manager *m, const char *name)
{
        const OutcomeSubscriber *s;

        assert(m);
        assert(name);

        s = m->outcomes->subscriber;
        if (s && s->device_changed)
                s->device_changed(m->outcomes->userdata, name);
}

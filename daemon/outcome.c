/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "metrics.h"
#include "outcome.h"

struct Outcomes {
        const OutcomeSubscriber *subscriber; /* the bus, once it is set up */
        void *userdata;
        unsigned dirty; /* DIRTY_*: not announced yet */
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
        s = m->outcomes->subscriber;
        if (s && s->block)
                s->block(m->outcomes->userdata, o);
}

void outcome_job_finished(Manager *m, const Job *job)
{
        const OutcomeSubscriber *s;

        assert(m);
        assert(job);

        /* The job is counted and the metrics file written before the subscriber is told. */
        metrics_job_finished(m, job);
        s = m->outcomes->subscriber;
        if (s && s->job_finished)
                s->job_finished(m->outcomes->userdata, job);
}

void outcome_stopping(Manager *m)
{
        const OutcomeSubscriber *s;

        assert(m);

        s = m->outcomes->subscriber;
        if (s && s->stopping)
                s->stopping(m->outcomes->userdata);
}

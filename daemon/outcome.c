/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>

#include "outcome.h"

int outcome_subscribe(Manager *m, const OutcomeSubscriber *s, void *userdata)
{
        assert(m);
        assert(s);

        if (m->outcome.subscriber)
                return -EBUSY;
        m->outcome.subscriber = s;
        m->outcome.userdata = userdata;
        return 0;
}

void outcome_unsubscribe(Manager *m, const OutcomeSubscriber *s)
{
        assert(m);

        if (m->outcome.subscriber != s)
                return;
        m->outcome.subscriber = NULL;
        m->outcome.userdata = NULL;
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
                manager_mark_dirty(m, DIRTY_TOTALS);
                break;
        case OUTCOME_HANDLED:
        case OUTCOME_WITHDRAWN:
                manager_mark_dirty(m, DIRTY_JOB);
                break;
        case OUTCOME_REMOVED:
                break;
        }
        s = m->outcome.subscriber;
        if (s && s->block)
                s->block(m->outcome.userdata, o);
}

void outcome_job_finished(Manager *m, const Job *job)
{
        const OutcomeSubscriber *s;

        assert(m);
        assert(job);

        s = m->outcome.subscriber;
        if (s && s->job_finished)
                s->job_finished(m->outcome.userdata, job);
}

void outcome_stopping(Manager *m)
{
        const OutcomeSubscriber *s;

        assert(m);

        s = m->outcome.subscriber;
        if (s && s->stopping)
                s->stopping(m->outcome.userdata);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "event-util.h"
#include "macro.h"
#include "time-util.h"

struct Timer {
        sd_event_source *source;
        timer_handler_t handler;
        void *userdata;
};

/* The one place a time source is made: disarmed, 1 µs accuracy. */
static int time_source_new(sd_event *e, const char *description, int64_t priority,
                           sd_event_time_handler_t callback, void *userdata, sd_event_source **ret)
{
        sd_event_source *s = NULL;
        int r;

        r = sd_event_add_time(e, &s, CLOCK_MONOTONIC, 0, 1, callback, userdata);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_source_set_priority(s, priority);
        if (r < 0) {
                sd_event_source_unref(s);
                return r;
        }
        (void)sd_event_source_set_description(s, description);
        *ret = s;
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Timer *t = userdata;

        return t->handler(t, usec, t->userdata);
}

int timer_new(sd_event *e, const char *description, int64_t priority, timer_handler_t handler,
              void *userdata, Timer **ret)
{
        Timer *t;
        int r;

        assert(e);
        assert(handler);
        assert(ret);

        t = malloc(sizeof(Timer));
        if (!t)
                return -ENOMEM;
        *t = (Timer){ .handler = handler, .userdata = userdata };
        r = time_source_new(e, description, priority, on_timer, t, &t->source);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

Timer *timer_free(Timer *t)
{
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->source);
        free(t);
        return NULL;
}

int timer_arm_at(Timer *t, uint64_t usec)
{
        int r;

        assert(t);

        r = sd_event_source_set_time(t->source, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(t->source, SD_EVENT_ONESHOT);
}

/* From now, not from the loop's last wakeup (and sd_event_source_set_time_relative() needs
 * libsystemd 247; we build with 246). */
int timer_arm_in(Timer *t, uint64_t usec)
{
        assert(t);

        return timer_arm_at(t, now_usec() + usec);
}

void timer_disarm(Timer *t)
{
        if (t)
                (void)sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
}

bool timer_armed(const Timer *t)
{
        int enabled = SD_EVENT_OFF;

        return t && sd_event_source_get_enabled(t->source, &enabled) >= 0 && enabled != SD_EVENT_OFF;
}

typedef struct Later {
        event_later_handler_t handler;
        void *userdata;
        sd_event_destroy_t destroy;
} Later;

static void later_free(void *p)
{
        Later *l = p;

        if (l->destroy)
                l->destroy(l->userdata);
        free(l);
}

static int on_later(sd_event_source *s, uint64_t usec, void *userdata)
{
        Later *l = userdata;
        int r;

        r = l->handler(l->userdata);
        /* Done. The loop holds the only reference: un-floating drops it, and sd-event frees the
         * source (calling later_free()) once this dispatch returns. */
        (void)sd_event_source_set_floating(s, false);
        return r;
}

int event_add_later(sd_event *e, const char *description, uint64_t usec, event_later_handler_t handler,
                    void *userdata, sd_event_destroy_t destroy)
{
        sd_event_source *s = NULL;
        uint64_t now;
        Later *l;
        int r;

        assert(e);
        assert(handler);

        /* From the loop's last wakeup, as sd_event_add_time_relative() counts. */
        r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (usec > UINT64_MAX - 1 - now)
                return -EOVERFLOW;

        l = malloc(sizeof(Later));
        if (!l)
                return -ENOMEM;
        *l = (Later){ .handler = handler, .userdata = userdata, .destroy = destroy };

        r = time_source_new(e, description, SD_EVENT_PRIORITY_NORMAL, on_later, l, &s);
        if (r >= 0)
                r = sd_event_source_set_time(s, now + usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r >= 0)
                r = sd_event_source_set_floating(s, true);
        if (r < 0) {
                sd_event_source_unref(s);
                free(l); /* the caller still owns userdata */
                return r;
        }
        /* From here on the loop owns the source, and the source owns l. */
        (void)sd_event_source_set_destroy_callback(s, later_free);
        sd_event_source_unref(s);
        return 0;
}

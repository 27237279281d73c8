/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one timer helper (daemon/event-util.c): a Timer fires once per arming, can be moved, disarmed
 * and re-armed from its own handler; event_add_later() runs once and always frees its userdata.
 * Every wait here is for something due already, with a generous cap: nothing depends on how fast
 * the host is. */
#include <stdio.h>

#include "event-util.h"
#include "tap.h"
#include "time-util.h"

#define HOUR_USEC (3600 * USEC_PER_SEC)

typedef struct Count {
        unsigned fired, again; /* again: how many more times the handler arms the timer */
} Count;

static int on_timer(Timer *t, uint64_t usec, void *userdata)
{
        Count *c = userdata;

        c->fired++;
        if (c->again > 0) {
                c->again--;
                return timer_arm_in(t, 0);
        }
        return 0;
}

/* Runs the loop until *fired reaches want, or 5 s pass. */
static void run_until(sd_event *e, const unsigned *fired, unsigned want)
{
        uint64_t end = now_usec() + 5 * USEC_PER_SEC;

        while (*fired < want && now_usec() < end)
                (void)sd_event_run(e, 100 * USEC_PER_MSEC);
}

static void test_timer(sd_event *e)
{
        Timer *t = NULL;
        Count c = {};

        tap_ok(timer_new(e, "test-timer", SD_EVENT_PRIORITY_NORMAL, on_timer, &c, &t) >= 0 && t,
               "timer made");
        if (!t)
                return;
        tap_ok(!timer_armed(t), "a new timer is not armed");

        tap_ok(timer_arm_at(t, 0) >= 0 && timer_armed(t), "armed for a time gone by");
        run_until(e, &c.fired, 1);
        tap_is_int(c.fired, 1, "fired");
        tap_ok(!timer_armed(t), "fired once, not armed any more");
        (void)sd_event_run(e, 0);
        tap_is_int(c.fired, 1, "not again");

        /* Moved, not left where it was: armed an hour ahead, then for now. */
        tap_ok(timer_arm_in(t, HOUR_USEC) >= 0 && timer_armed(t), "armed an hour ahead");
        (void)sd_event_run(e, 0);
        tap_is_int(c.fired, 1, "not fired an hour ahead");
        tap_ok(timer_arm_at(t, 0) >= 0, "moved to now");
        run_until(e, &c.fired, 2);
        tap_is_int(c.fired, 2, "the moved timer fired");

        tap_ok(timer_arm_at(t, 0) >= 0, "armed for now again");
        timer_disarm(t);
        tap_ok(!timer_armed(t), "disarmed");
        for (int i = 0; i < 3; i++)
                (void)sd_event_run(e, 0);
        tap_is_int(c.fired, 2, "a disarmed timer does not fire");

        c.again = 2;
        tap_ok(timer_arm_at(t, 0) >= 0, "armed, to be armed again twice by its handler");
        run_until(e, &c.fired, 5);
        tap_is_int(c.fired, 5, "fired three times");
        tap_ok(!timer_armed(t), "and then not armed");

        /* Freed while armed: its source goes with it. */
        tap_ok(timer_arm_at(t, 0) >= 0, "armed before it is freed");
        tap_ok(timer_free(t) == NULL, "freed");
        for (int i = 0; i < 3; i++)
                (void)sd_event_run(e, 0);
        tap_is_int(c.fired, 5, "a freed timer does not fire");
        tap_ok(timer_armed(NULL) == false, "no timer is not armed");
        timer_disarm(NULL);
        tap_ok(timer_free(NULL) == NULL, "freeing no timer is fine");
}

typedef struct Later {
        unsigned ran, destroyed;
} Later;

static int on_later(void *userdata)
{
        ((Later *)userdata)->ran++;
        return 0;
}

static void later_destroy(void *userdata)
{
        ((Later *)userdata)->destroyed++;
}

static void test_later(void)
{
        sd_event *e = NULL;
        Later now = {}, pending = {};

        if (!tap_ok(sd_event_new(&e) >= 0, "loop for event_add_later()"))
                return;
        tap_ok(event_add_later(e, "test-later", 0, on_later, &now, later_destroy) >= 0, "a later now");
        tap_ok(event_add_later(e, "test-pending", HOUR_USEC, on_later, &pending, later_destroy) >= 0,
               "a later an hour ahead");
        run_until(e, &now.destroyed, 1);
        tap_ok(now.ran == 1 && now.destroyed == 1, "ran once, then destroyed (ran %u, destroyed %u)",
               now.ran, now.destroyed);
        tap_ok(pending.ran == 0 && pending.destroyed == 0, "the other still waits");
        sd_event_unref(e);
        tap_ok(pending.ran == 0 && pending.destroyed == 1, "destroyed with the loop, never ran");
}

int main(void)
{
        sd_event *e = NULL;

        if (tap_ok(sd_event_new(&e) >= 0, "loop"))
                test_timer(e);
        sd_event_unref(e);
        test_later();
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Every "look again in a moment" of the daemon goes through here, and no other file makes an
 * sd-event time source (the unit test bus-boundary checks it). All of them are on CLOCK_MONOTONIC
 * with an accuracy of 1 µs, since sd-event's default would let a 1 ms wait slip by up to 250 ms. */

/* A timer that its owner keeps and arms again and again. Its source is made with the timer, so
 * arming it allocates nothing: the block retry is armed when memory has run out. */
typedef struct Timer Timer;
typedef int (*timer_handler_t)(Timer *t, uint64_t usec, void *userdata);

int timer_new(sd_event *e, const char *description, int64_t priority, timer_handler_t handler,
              void *userdata, Timer **ret);
Timer *timer_free(Timer *t);

/* Armed for the CLOCK_MONOTONIC time usec, or usec from now (the clock's now, not the loop's last
 * wakeup); an armed timer is moved. It fires once, and its handler may arm it again. */
int timer_arm_at(Timer *t, uint64_t usec);
int timer_arm_in(Timer *t, uint64_t usec);
void timer_disarm(Timer *t);
bool timer_armed(const Timer *t);

/* "Look at this again in a moment": a one-shot timer that the event loop owns (a floating
 * source), so nobody has to keep it. After handler ran, or when the loop is freed with the timer
 * still pending, destroy(userdata) is called: nothing leaks at exit. usec counts from the loop's
 * last wakeup. */
typedef int (*event_later_handler_t)(void *userdata);

int event_add_later(sd_event *e, const char *description, uint64_t usec, event_later_handler_t handler,
                    void *userdata, sd_event_destroy_t destroy);

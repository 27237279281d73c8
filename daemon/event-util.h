/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

/* "Look at this again in a moment": a one-shot timer that the event loop owns (a floating
 * source), so nobody has to keep it. After handler ran, or when the loop is freed with the timer
 * still pending, destroy(userdata) is called: nothing leaks at exit. The timer's accuracy is 1 µs,
 * since sd-event's default would let a 1 ms wait slip by up to 250 ms. */
typedef int (*event_later_handler_t)(void *userdata);

int event_add_later(sd_event *e, const char *description, uint64_t usec, event_later_handler_t handler,
                    void *userdata, sd_event_destroy_t destroy);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "event-util.h"
#include "macro.h"

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
        Later *l;
        int r;

        assert(e);
        assert(handler);

        l = malloc(sizeof(Later));
        if (!l)
                return -ENOMEM;
        *l = (Later){ .handler = handler, .userdata = userdata, .destroy = destroy };

        r = sd_event_add_time_relative(e, &s, CLOCK_MONOTONIC, usec, 1, on_later, l);
        if (r < 0) {
                free(l); /* the caller still owns userdata */
                return r;
        }
        (void)sd_event_source_set_description(s, description);
        r = sd_event_source_set_floating(s, true);
        if (r < 0) {
                sd_event_source_unref(s);
                free(l);
                return r;
        }
        /* From here on the loop owns the source, and the source owns l. */
        (void)sd_event_source_set_destroy_callback(s, later_free);
        sd_event_source_unref(s);
        return 0;
}

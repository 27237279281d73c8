/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "rows.h"

int rows_read(sd_bus_message *m, const char *signature, size_t row_size, row_read_fn read_one, void **ret,
              size_t *ret_n)
{
        _cleanup_(freep) char *rows = NULL;
        size_t n = 0, allocated = 0;
        int r;

        assert(m);
        assert(signature);
        assert(ret);
        assert(ret_n);

        r = sd_bus_message_enter_container(m, 'a', signature);
        if (r < 0)
                return r;
        for (;;) {
                if (n == allocated) {
                        size_t k = allocated ? allocated * 2 : 64;
                        char *l = realloc(rows, k * row_size);

                        if (!l)
                                return -ENOMEM;
                        rows = l;
                        allocated = k;
                }
                r = read_one(m, signature, rows + n * row_size);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                n++;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

int plan_row_read(sd_bus_message *m, const char *signature, void *row)
{
        PlanRow *p;

        assert(m);
        assert(signature);
        assert(row);

        p = row;

        return sd_bus_message_read(m, signature, &p->block, &p->node, &p->action, &p->type, &p->zone,
                                   &p->rule, &p->reason, &p->note);
}

int device_row_read(sd_bus_message *m, const char *signature, void *row)
{
        DeviceRow *d;

        assert(m);
        assert(signature);
        assert(row);

        d = row;

        return sd_bus_message_read(m, signature, &d->name, &d->object, &d->target_node, &d->source, &d->mode,
                                   &d->memmap, &d->start, &d->size, &d->online, &d->total, &d->rule,
                                   &d->reason, &d->hotplug, &d->consistent);
}

int rows_make_ranges(const void *rows, size_t n, size_t row_size, bool all, row_mergeable_fn mergeable,
                     const void *userdata, Range **ret, size_t *ret_n)
{
        _cleanup_(freep) Range *ranges = NULL;
        const char *p = rows;
        size_t k = 0;

        assert(rows || n == 0);
        assert(ret);
        assert(ret_n);

        ranges = calloc(n ?: 1, sizeof(Range));
        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!all && k > 0 &&
                    mergeable(p + ranges[k - 1].last * row_size, p + i * row_size, userdata))
                        ranges[k - 1].last = i;
                else
                        ranges[k++] = (Range){ i, i };
        }
        *ret = TAKE_PTR(ranges);
        *ret_n = k;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl-util.h"
#include "ctl.h"
#include "rows.h"

/* memhotplugctl rezone BLOCKS: the given blocks that Plan reports as drift (online in a zone the
 * policy would not choose now) are offlined, then onlined into the policy's zone, with the
 * daemon's own OfflineBlocks and OnlineBlocks. Only on request: the daemon never moves memory in
 * use by itself. */

static const PlanRow *find_drift(const PlanRow *rows, size_t n, unsigned block)
{
        for (size_t i = 0; i < n; i++)
                if (rows[i].block == block && streq(rows[i].action, "rezone"))
                        return &rows[i];
        return NULL;
}

/* Onlines those of picked whose row asks for type. */
static int online_as(Context *c, const PlanRow *const *picked, size_t n, const char *type, unsigned *buf)
{
        Context sub = *c;
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (streq(picked[i]->type, type))
                        buf[k++] = picked[i]->block;
        if (k == 0)
                return 0;
        sub.blocks = buf;
        sub.n_blocks = k;
        sub.online_type = type;
        return ctl_call_blocks(&sub, "OnlineBlocks", "online memory blocks");
}

int verb_rezone(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) const PlanRow **picked = NULL;
        _cleanup_(freep) unsigned *blocks = NULL;
        _cleanup_(freep) PlanRow *rows = NULL;
        size_t n_rows, n = 0;
        bool missing = false;
        Context sub;
        int r, q;

        assert(c);

        sub = *c;
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "Plan", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "get the plan");
        r = rows_read(reply, BUS_ROW_PLAN, sizeof(PlanRow), plan_row_read, (void **)&rows, &n_rows);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the plan: %m");

        picked = calloc(c->n_blocks, sizeof(PlanRow *));
        blocks = calloc(c->n_blocks, sizeof(unsigned));
        if (!picked || !blocks)
                return log_error_errno(-ENOMEM, "Out of memory");
        for (size_t i = 0; i < c->n_blocks; i++) {
                const PlanRow *d = find_drift(rows, n_rows, c->blocks[i]);

                if (!d) {
                        log_error(
                                "memory%u: not online in a zone the policy would not choose, left as it is",
                                c->blocks[i]);
                        missing = true;
                        continue;
                }
                picked[n] = d;
                blocks[n++] = d->block;
        }
        if (n == 0)
                return EXIT_FAILURE;

        for (size_t i = 0; i < n; i++)
                printf("memory%" PRIu32 ": %s -> %s: %s\n", picked[i]->block, picked[i]->reason,
                       picked[i]->zone, picked[i]->rule);
        sub.blocks = blocks;
        sub.n_blocks = n;
        r = ctl_call_blocks(&sub, "OfflineBlocks", "offline memory blocks");
        if (r != 0)
                return r;
        /* blocks is free again: online_as() fills it per type. */
        r = online_as(c, picked, n, "movable", blocks);
        q = online_as(c, picked, n, "kernel", blocks);
        if (r != 0)
                return r;
        if (q != 0)
                return q;
        return missing ? EXIT_FAILURE : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json-writer.h"
#include "rows.h"
#include "table.h"

/* memhotplugctl plan: what a rescan would do now with each offline block, and why (Plan). */

static bool mergeable(const void *x, const void *y, const void *userdata)
{
        const PlanRow *a = x, *b = y;

        return b->block == a->block + 1 && a->node == b->node && streq(a->action, b->action) &&
               streq(a->type, b->type) && streq(a->zone, b->zone) && streq(a->rule, b->rule) &&
               streq(a->reason, b->reason) && streq(a->note, b->note);
}

static const char *empty_to_null(const char *s)
{
        return *s ? s : NULL;
}

static int print_json(const PlanRow *rows, const Range *ranges, size_t n_ranges, JsonMode mode)
{
        JsonWriter w;

        json_init(&w, stdout, mode == JSON_PRETTY);
        json_begin_array(&w);
        for (size_t i = 0; i < n_ranges; i++) {
                const PlanRow *p = &rows[ranges[i].first];

                json_begin_object(&w);
                json_field_unsigned(&w, "FirstBlock", p->block);
                json_field_unsigned(&w, "LastBlock", rows[ranges[i].last].block);
                json_key(&w, "Node");
                if (p->node < 0)
                        json_null(&w);
                else
                        json_signed(&w, p->node);
                json_field_string(&w, "Action", p->action);
                json_field_string(&w, "Type", empty_to_null(p->type));
                json_field_string(&w, "Zone", empty_to_null(p->zone));
                json_field_string(&w, "Rule", p->rule);
                json_field_string(&w, "Reason", p->reason);
                json_field_string(&w, "Note", empty_to_null(p->note));
                json_end_object(&w);
        }
        json_end_array(&w);
        return json_finish(&w);
}

static int print_table(const PlanRow *rows, size_t n_rows, const Range *ranges, size_t n_ranges)
{
        static const TableColumn columns[] = {
                { "BLOCK", ALIGN_RIGHT }, { "NODE", ALIGN_RIGHT }, { "ACTION", ALIGN_LEFT },
                { "TYPE", ALIGN_LEFT },   { "ZONE", ALIGN_LEFT },  { "RULE", ALIGN_LEFT },
                { "REASON", ALIGN_LEFT }, { "NOTE", ALIGN_LEFT },
        };
        _cleanup_(table_freep) Table *t = NULL;
        bool any_note = false;
        int r;

        if (n_rows == 0) {
                printf("No offline memory blocks: nothing to plan.\n");
                return 0;
        }

        /* Notes are rare (a block someone offlined, one queued or failed): no column without one. */
        for (size_t i = 0; i < n_rows; i++)
                any_note = any_note || *rows[i].note;
        t = table_new(columns, ELEMENTSOF(columns) - !any_note);
        if (!t)
                return log_error_errno(-ENOMEM, "Out of memory");
        for (size_t i = 0; i < n_ranges; i++) {
                const PlanRow *p = &rows[ranges[i].first], *l = &rows[ranges[i].last];
                char block[32], node[16] = "-";

                if (p->block == l->block)
                        snprintf(block, sizeof(block), "%" PRIu32, p->block);
                else
                        snprintf(block, sizeof(block), "%" PRIu32 "-%" PRIu32, p->block, l->block);
                if (p->node >= 0)
                        snprintf(node, sizeof(node), "%" PRIi32, p->node);
                r = table_add_row(t, (const char *const[]){ block, node, p->action, p->type, p->zone,
                                                            p->rule, p->reason, p->note });
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
        }
        r = table_print(t, stdout);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        return 0;
}

int verb_plan(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) PlanRow *rows = NULL;
        _cleanup_(freep) Range *ranges = NULL;
        size_t n_rows, n_ranges;
        int r;

        assert(c);

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "Plan", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "get the plan");
        r = rows_read(reply, BUS_ROW_PLAN, sizeof(PlanRow), plan_row_read, (void **)&rows, &n_rows);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the plan: %m");
        r = rows_make_ranges(rows, n_rows, sizeof(PlanRow), c->all, mergeable, NULL, &ranges, &n_ranges);
        if (r < 0)
                return log_error_errno(r, "Out of memory");

        if (c->json != JSON_OFF)
                return print_json(rows, ranges, n_ranges, c->json);
        return print_table(rows, n_rows, ranges, n_ranges);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json-writer.h"
#include "rows.h"
#include "table.h"

/* memhotplugctl list: ListBlocks, printed like lsmem(1). */

typedef struct BlockRow {
        uint32_t index;
        int32_t node;
        const char *state, *zone, *rule; /* point into the reply */
        uint64_t start, size;
        int removable;
        const char *drift; /* the zone the policy would choose, for a drifted block (Plan); or NULL */
} BlockRow;

static int read_row(sd_bus_message *m, const char *signature, void *row)
{
        BlockRow *b = row;

        b->drift = NULL; /* mark_drift() fills it in */
        return sd_bus_message_read(m, signature, &b->index, &b->node, &b->state, &b->zone, &b->start,
                                   &b->size, &b->removable, &b->rule);
}

/* The columns, with lsmem(1)'s names where the meaning is the same (ZONE is accepted for ZONES). */
typedef enum Column {
        COLUMN_RANGE,
        COLUMN_SIZE,
        COLUMN_STATE,
        COLUMN_ZONES,
        COLUMN_NODE,
        COLUMN_BLOCK,
        COLUMN_REMOVABLE,
        COLUMN_RULE,
        COLUMN_DRIFT,
        _COLUMN_MAX,
} Column;

static const TableColumn column_table[_COLUMN_MAX] = {
        [COLUMN_RANGE] = { "RANGE", ALIGN_LEFT },          [COLUMN_SIZE] = { "SIZE", ALIGN_RIGHT },
        [COLUMN_STATE] = { "STATE", ALIGN_LEFT },          [COLUMN_ZONES] = { "ZONES", ALIGN_LEFT },
        [COLUMN_NODE] = { "NODE", ALIGN_RIGHT },           [COLUMN_BLOCK] = { "BLOCK", ALIGN_RIGHT },
        [COLUMN_REMOVABLE] = { "REMOVABLE", ALIGN_RIGHT }, [COLUMN_RULE] = { "RULE", ALIGN_LEFT },
        [COLUMN_DRIFT] = { "DRIFT", ALIGN_LEFT },
};

typedef struct Columns {
        Column list[_COLUMN_MAX];
        size_t n;
} Columns;

/* "RANGE,SIZE,NODE" (any case, as lsmem takes them); NULL: every column, DRIFT only when a block
 * has drifted. */
static int parse_columns(const char *spec, bool any_drift, Columns *ret)
{
        Columns c = {};

        if (!spec) {
                for (Column i = 0; i < _COLUMN_MAX; i++)
                        if (i != COLUMN_DRIFT || any_drift)
                                c.list[c.n++] = i;
                *ret = c;
                return 0;
        }
        while (*spec) {
                size_t len = strcspn(spec, ",");
                Column found = _COLUMN_MAX;

                for (Column i = 0; i < _COLUMN_MAX; i++)
                        if (strlen(column_table[i].header) == len &&
                            strncasecmp(spec, column_table[i].header, len) == 0)
                                found = i;
                if (len == 4 && strncasecmp(spec, "ZONE", 4) == 0)
                        found = COLUMN_ZONES;
                if (found == _COLUMN_MAX || c.n == _COLUMN_MAX)
                        return log_error_errno(
                                -EINVAL,
                                "Unknown or repeated column in --output: \"%.*s\" (known: RANGE, "
                                "SIZE, STATE, ZONES, NODE, BLOCK, REMOVABLE, RULE, DRIFT)",
                                (int)len, spec);
                c.list[c.n++] = found;
                spec += len;
                spec += *spec == ',';
        }
        if (c.n == 0)
                return log_error_errno(-EINVAL, "--output names no column");
        *ret = c;
        return 0;
}

static bool shown(const Columns *c, Column col)
{
        for (size_t i = 0; i < c->n; i++)
                if (c->list[i] == col)
                        return true;
        return false;
}

/* lsmem merges blocks that are adjacent and alike in every column it shows; so do we. */
static bool mergeable(const void *x, const void *y, const void *userdata)
{
        const BlockRow *a = x, *b = y;
        const Columns *c = userdata;

        return b->index == a->index + 1 && b->start == a->start + a->size &&
               (!shown(c, COLUMN_NODE) || a->node == b->node) &&
               (!shown(c, COLUMN_STATE) || streq(a->state, b->state)) &&
               (!shown(c, COLUMN_ZONES) || streq(a->zone, b->zone)) &&
               (!shown(c, COLUMN_REMOVABLE) || a->removable == b->removable) &&
               (!shown(c, COLUMN_RULE) || streq(a->rule, b->rule)) &&
               (!shown(c, COLUMN_DRIFT) || streq_ptr(a->drift, b->drift));
}

#define CELL_MAX 48

/* The text of one cell of the range f..l; NULL where JSON has null (no zone, no node). */
static const char *cell(const BlockRow *f, const BlockRow *l, Column col, bool bytes,
                        char buf[static CELL_MAX])
{
        uint64_t size = l->start + l->size - f->start;

        switch (col) {
        case COLUMN_RANGE:
                snprintf(buf, CELL_MAX, "0x%016" PRIx64 "-0x%016" PRIx64, f->start, l->start + l->size - 1);
                return buf;
        case COLUMN_SIZE:
                if (bytes)
                        snprintf(buf, CELL_MAX, "%" PRIu64, size);
                else
                        format_bytes(buf, size);
                return buf;
        case COLUMN_STATE:
                return f->state;
        case COLUMN_ZONES:
                return *f->zone ? f->zone : NULL;
        case COLUMN_NODE:
                if (f->node < 0)
                        return NULL;
                snprintf(buf, CELL_MAX, "%" PRIi32, f->node);
                return buf;
        case COLUMN_BLOCK:
                if (f->index == l->index)
                        snprintf(buf, CELL_MAX, "%" PRIu32, f->index);
                else
                        snprintf(buf, CELL_MAX, "%" PRIu32 "-%" PRIu32, f->index, l->index);
                return buf;
        case COLUMN_REMOVABLE:
                return f->removable ? "yes" : "no";
        case COLUMN_DRIFT:
                if (!f->drift)
                        return NULL;
                snprintf(buf, CELL_MAX, "-> %s", f->drift);
                return buf;
        case COLUMN_RULE:
        default:
                return f->rule;
        }
}

/* lsmem -J's shape: {"memory": [{"range": …, "size": …}]}, the shown columns as lowercase keys,
 * sizes as text unless --bytes, removable a boolean, node a number. */
static int print_json(Context *c, const Columns *cols, const BlockRow *rows, const Range *ranges,
                      size_t n_ranges)
{
        JsonWriter w;

        json_init(&w, stdout, c->json == JSON_PRETTY);
        json_begin_object(&w);
        json_key(&w, "memory");
        json_begin_array(&w);
        for (size_t i = 0; i < n_ranges; i++) {
                const BlockRow *f = &rows[ranges[i].first], *l = &rows[ranges[i].last];

                json_begin_object(&w);
                for (size_t k = 0; k < cols->n; k++) {
                        const char *header = column_table[cols->list[k]].header, *v;
                        char key[16] = {}, buf[CELL_MAX];

                        for (size_t j = 0; header[j] && j < sizeof(key) - 1; j++)
                                key[j] = (char)tolower((unsigned char)header[j]);
                        json_key(&w, key);
                        if (cols->list[k] == COLUMN_REMOVABLE)
                                json_bool(&w, f->removable);
                        else if (cols->list[k] == COLUMN_NODE && f->node >= 0)
                                json_signed(&w, f->node);
                        else if (cols->list[k] == COLUMN_SIZE && c->bytes)
                                json_unsigned(&w, l->start + l->size - f->start);
                        else if (cols->list[k] == COLUMN_DRIFT && f->drift)
                                json_string(&w, f->drift); /* the zone the policy would choose */
                        else if ((v = cell(f, l, cols->list[k], c->bytes, buf)))
                                json_string(&w, v);
                        else
                                json_null(&w);
                }
                json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        return json_finish(&w);
}

static int print_table(Context *c, const Columns *cols, const BlockRow *rows, size_t n_rows,
                       const Range *ranges, size_t n_ranges)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        TableColumn header[_COLUMN_MAX];
        char a[FORMAT_BYTES_MAX];
        uint64_t block_size, online = 0, offline = 0;
        int r;

        r = bus_get_manager_property(c, "BlockSize", "t", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &block_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse BlockSize: %m");

        for (size_t k = 0; k < cols->n; k++)
                header[k] = column_table[cols->list[k]];
        t = table_new(header, cols->n);
        if (!t)
                return log_error_errno(-ENOMEM, "Out of memory");
        for (size_t i = 0; i < n_ranges; i++) {
                const BlockRow *f = &rows[ranges[i].first], *l = &rows[ranges[i].last];
                char bufs[_COLUMN_MAX][CELL_MAX];
                const char *cells[_COLUMN_MAX];

                for (size_t k = 0; k < cols->n; k++)
                        cells[k] = cell(f, l, cols->list[k], c->bytes, bufs[k]) ?: "-";
                r = table_add_row(t, cells);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
        }
        r = table_print(t, stdout);
        if (r < 0)
                return log_error_errno(r, "Out of memory");

        /* Totals over the blocks listed, as lsmem counts them: whatever is not online is offline. */
        for (size_t i = 0; i < n_rows; i++)
                if (streq(rows[i].state, "online"))
                        online += rows[i].size;
                else
                        offline += rows[i].size;
        printf("\n%-23s %15s\n", "Memory block size:", format_bytes(a, block_size));
        printf("%-23s %15s\n", "Total online memory:", format_bytes(a, online));
        printf("%-23s %15s\n", "Total offline memory:", format_bytes(a, offline));
        return 0;
}

/* Drift, from Plan's "rezone" rows: the zone the policy would choose for a block online elsewhere.
 * A daemon without drift (or Plan) leaves the column empty. */
static bool mark_drift(Context *c, BlockRow *rows, size_t n_rows, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) PlanRow *plan = NULL;
        bool any = false;
        size_t n_plan;

        if (sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "Plan", NULL, &reply, NULL) <
                    0 ||
            rows_read(reply, BUS_ROW_PLAN, sizeof(PlanRow), plan_row_read, (void **)&plan, &n_plan) < 0)
                return false;
        for (size_t i = 0; i < n_plan; i++) {
                if (!streq(plan[i].action, "rezone"))
                        continue;
                for (size_t j = 0; j < n_rows; j++)
                        if (rows[j].index == plan[i].block) {
                                rows[j].drift = plan[i].zone;
                                any = true;
                        }
        }
        *ret_reply = TAKE_PTR(reply); /* the zone strings point into it */
        return any;
}

int list_check_columns(const char *spec)
{
        Columns cols;

        assert(spec);

        return parse_columns(spec, false, &cols);
}

int verb_list(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *plan = NULL;
        _cleanup_(freep) BlockRow *rows = NULL;
        _cleanup_(freep) Range *ranges = NULL;
        size_t n_rows, n_ranges;
        Columns cols;
        int r;

        assert(c);

        /* A bad --output was a usage error before the bus was touched (list_check_columns()). */
        if (c->output) {
                r = parse_columns(c->output, false, &cols);
                if (r < 0)
                        return r;
        }
        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "ListBlocks", &error, &reply,
                               NULL);
        if (r < 0)
                return log_bus_error(r, &error, "list memory blocks");
        r = rows_read(reply, BUS_ROW_BLOCK, sizeof(BlockRow), read_row, (void **)&rows, &n_rows);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the block list: %m");
        if (!c->output) {
                r = parse_columns(NULL, mark_drift(c, rows, n_rows, &plan), &cols);
                if (r < 0)
                        return r;
        } else if (shown(&cols, COLUMN_DRIFT))
                (void)mark_drift(c, rows, n_rows, &plan);
        r = rows_make_ranges(rows, n_rows, sizeof(BlockRow), c->all, mergeable, &cols, &ranges, &n_ranges);
        if (r < 0)
                return log_error_errno(r, "Out of memory");

        if (c->json != JSON_OFF)
                return print_json(c, &cols, rows, ranges, n_ranges);
        return print_table(c, &cols, rows, n_rows, ranges, n_ranges);
}

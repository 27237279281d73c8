/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl-util.h"
#include "ctl.h"
#include "json-writer.h"
#include "table.h"

/* memhotplugctl list: ListBlocks, printed like lsmem(1). */

typedef struct BlockRow {
        uint32_t index;
        int32_t node;
        const char *state, *zone, *rule; /* point into the reply */
        uint64_t start, size;
        int removable;
} BlockRow;

/* Consecutive blocks rows[first..last], shown as one line unless --all. */
typedef struct Range {
        size_t first, last;
        uint64_t size;
} Range;

static int read_rows(sd_bus_message *m, BlockRow **ret, size_t *ret_n)
{
        _cleanup_(freep) BlockRow *rows = NULL;
        size_t n = 0;
        BlockRow b;
        int r;

        r = sd_bus_message_enter_container(m, 'a', BUS_ROW_BLOCK);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, BUS_ROW_BLOCK, &b.index, &b.node, &b.state, &b.zone, &b.start,
                                        &b.size, &b.removable, &b.rule)) > 0) {
                BlockRow *l = realloc(rows, (n + 1) * sizeof(BlockRow));

                if (!l)
                        return -ENOMEM;
                rows = l;
                rows[n++] = b;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

/* lsmem merges blocks that are adjacent and alike; so do we, comparing every column we show. */
static bool mergeable(const BlockRow *a, const BlockRow *b)
{
        return b->index == a->index + 1 && b->start == a->start + a->size && a->node == b->node &&
               streq(a->state, b->state) && streq(a->zone, b->zone) && a->removable == b->removable &&
               streq(a->rule, b->rule);
}

static int make_ranges(const BlockRow *rows, size_t n, bool all, Range **ret, size_t *ret_n)
{
        _cleanup_(freep) Range *ranges = NULL;
        size_t k = 0;

        ranges = calloc(n ?: 1, sizeof(Range));
        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!all && k > 0 && mergeable(&rows[ranges[k - 1].last], &rows[i])) {
                        ranges[k - 1].last = i;
                        ranges[k - 1].size += rows[i].size;
                        continue;
                }
                ranges[k++] = (Range){ i, i, rows[i].size };
        }
        *ret = TAKE_PTR(ranges);
        *ret_n = k;
        return 0;
}

static int print_json(const BlockRow *rows, const Range *ranges, size_t n_ranges, JsonMode mode)
{
        JsonWriter w;

        json_init(&w, stdout, mode == JSON_PRETTY);
        json_begin_array(&w);
        for (size_t i = 0; i < n_ranges; i++) {
                const BlockRow *a = &rows[ranges[i].first], *b = &rows[ranges[i].last];
                char range[64];

                snprintf(range, sizeof(range), "0x%016" PRIx64 "-0x%016" PRIx64, a->start,
                         b->start + b->size - 1);
                json_begin_object(&w);
                json_field_string(&w, "Range", range);
                json_field_unsigned(&w, "PhysStart", a->start);
                json_field_unsigned(&w, "PhysEnd", b->start + b->size - 1);
                json_field_unsigned(&w, "Size", ranges[i].size);
                json_field_string(&w, "State", a->state);
                json_field_string(&w, "Zone", *a->zone ? a->zone : NULL);
                json_key(&w, "Node");
                if (a->node < 0)
                        json_null(&w);
                else
                        json_signed(&w, a->node);
                json_field_unsigned(&w, "FirstBlock", a->index);
                json_field_unsigned(&w, "LastBlock", b->index);
                json_field_bool(&w, "Removable", a->removable);
                json_field_string(&w, "Rule", a->rule);
                json_end_object(&w);
        }
        json_end_array(&w);
        return json_finish(&w);
}

static int print_table(Context *c, const BlockRow *rows, size_t n_rows, const Range *ranges, size_t n_ranges)
{
        static const TableColumn columns[] = {
                { "RANGE", ALIGN_LEFT },      { "SIZE", ALIGN_RIGHT }, { "STATE", ALIGN_LEFT },
                { "ZONE", ALIGN_LEFT },       { "NODE", ALIGN_RIGHT }, { "BLOCK", ALIGN_RIGHT },
                { "REMOVABLE", ALIGN_RIGHT }, { "RULE", ALIGN_LEFT },
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        char a[FORMAT_BYTES_MAX];
        uint64_t block_size, online = 0, offline = 0;
        int r;

        r = bus_get_manager_property(c, "BlockSize", "t", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &block_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse BlockSize: %m");

        t = table_new(columns, ELEMENTSOF(columns));
        if (!t)
                return log_error_errno(-ENOMEM, "Out of memory");
        for (size_t i = 0; i < n_ranges; i++) {
                const BlockRow *f = &rows[ranges[i].first], *l = &rows[ranges[i].last];
                char range[48], node[16] = "-", block[32];

                snprintf(range, sizeof(range), "0x%016" PRIx64 "-0x%016" PRIx64, f->start,
                         l->start + l->size - 1);
                if (f->node >= 0)
                        snprintf(node, sizeof(node), "%" PRIi32, f->node);
                if (f->index == l->index)
                        snprintf(block, sizeof(block), "%" PRIu32, f->index);
                else
                        snprintf(block, sizeof(block), "%" PRIu32 "-%" PRIu32, f->index, l->index);
                r = table_add_row(t, (const char *const[]){ range, format_bytes(a, ranges[i].size), f->state,
                                                            f->zone, node, block,
                                                            f->removable ? "yes" : "no", f->rule });
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

int verb_list(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) BlockRow *rows = NULL;
        _cleanup_(freep) Range *ranges = NULL;
        size_t n_rows, n_ranges;
        int r;

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "ListBlocks", &error, &reply,
                               NULL);
        if (r < 0)
                return log_bus_error(r, &error, "list memory blocks");
        r = read_rows(reply, &rows, &n_rows);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the block list: %m");
        r = make_ranges(rows, n_rows, c->all, &ranges, &n_ranges);
        if (r < 0)
                return log_error_errno(r, "Out of memory");

        if (c->json != JSON_OFF)
                return print_json(rows, ranges, n_ranges, c->json);
        return print_table(c, rows, n_rows, ranges, n_ranges);
}

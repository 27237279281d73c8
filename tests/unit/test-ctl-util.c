/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "block-list.h"
#include "ctl-util.h"
#include "json-writer.h"
#include "table.h"
#include "tap.h"

/* The client's pure helpers: block lists, sizes, JSON and tables. */

static void test_block_list(void)
{
        static const struct {
                const char *arg;
                int r;
                size_t n;
                unsigned first, last;
        } cases[] = {
                { "5", 0, 1, 5, 5 },
                { "7-9", 0, 3, 7, 9 },
                { "memory12", 0, 1, 12, 12 },
                { "memory16-memory19", 0, 4, 16, 19 },
                { "memory3-4", 0, 2, 3, 4 },
                { "1,2 3", 0, 3, 1, 3 },
                { "4294967295", 0, 1, 4294967295u, 4294967295u },
                { "9-9", 0, 1, 9, 9 },
                { "", -EINVAL, 0, 0, 0 },
                { "foo", -EINVAL, 0, 0, 0 },
                { "-5", -EINVAL, 0, 0, 0 },
                { "5-", -EINVAL, 0, 0, 0 },
                { "0x10", -EINVAL, 0, 0, 0 },
                { "+3", -EINVAL, 0, 0, 0 },
                { "1-2-3", -EINVAL, 0, 0, 0 },
                { "memory", -EINVAL, 0, 0, 0 },
                { "5-3", -ERANGE, 0, 0, 0 },
                { "4294967296", -ERANGE, 0, 0, 0 },
                { "0-4294967295", -E2BIG, 0, 0, 0 },
                { ",,,", -EINVAL, 0, 0, 0 },
                { " , ", -EINVAL, 0, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) unsigned *l = NULL;
                _cleanup_(freep) char *bad = NULL;
                char *args[] = { (char *)cases[i].arg };
                size_t n = 0;
                int r;

                r = block_list_parse(args, 1, &l, &n, &bad);
                tap_is_int(r, cases[i].r, "block list \"%s\" returns %d", cases[i].arg, cases[i].r);
                /* The message names what was wrong: before, ",,," was reported as "n/a". */
                if (r == -EINVAL && cases[i].arg[0] && strspn(cases[i].arg, " ,") == strlen(cases[i].arg))
                        tap_is_str(bad, cases[i].arg, "block list \"%s\": the bad input is the argument",
                                   cases[i].arg);
                if (r < 0)
                        continue;
                tap_ok(n == cases[i].n && l[0] == cases[i].first && l[n - 1] == cases[i].last,
                       "block list \"%s\" gives %zu blocks %u..%u", cases[i].arg, cases[i].n, cases[i].first,
                       cases[i].last);
        }

        {
                _cleanup_(freep) unsigned *l = NULL;
                _cleanup_(freep) char *bad = NULL;
                char *args[] = { (char *)"5", (char *)"1-2", (char *)"7 bar" };
                size_t n;

                tap_is_int(block_list_parse(args, 3, &l, &n, &bad), -EINVAL,
                           "a bad word among good ones fails");
                tap_is_str(bad, "bar", "the bad word is reported");
        }
}

static void test_format_bytes(void)
{
        static const struct {
                uint64_t bytes;
                const char *want;
        } cases[] = {
                { 0, "0B" },
                { 1023, "1023B" },
                { 1024, "1K" },
                { 1536, "1.5K" },
                { UINT64_C(128) << 20, "128M" },
                { UINT64_C(3) << 30, "3G" },
                { (UINT64_C(5) << 30) / 2, "2.5G" },
                { (UINT64_C(1) << 30) - 1, "1G" }, /* 1023.999M rounds up to the next unit */
                { UINT64_C(12) << 40, "12T" },
                { UINT64_MAX, "16E" },
        };
        char buf[FORMAT_BYTES_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                tap_is_str(format_bytes(buf, cases[i].bytes), cases[i].want, "format_bytes(%llu)",
                           (unsigned long long)cases[i].bytes);
}

static char *json_short(void (*write)(JsonWriter *w))
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        JsonWriter w;

        if (!f)
                return NULL;
        json_init(&w, f, false);
        write(&w);
        (void)json_finish(&w);
        fclose(f);
        return buf;
}

static void write_sample(JsonWriter *w)
{
        json_begin_object(w);
        json_field_string(w, "s", "a\"b\\c\n\t\x01\x7f/é");
        json_field_string(w, "null", NULL);
        json_field_unsigned(w, "u", UINT64_MAX);
        json_field_signed(w, "i", -1);
        json_field_bool(w, "b", false);
        json_key(w, "empty");
        json_begin_array(w);
        json_end_array(w);
        json_key(w, "a");
        json_begin_array(w);
        json_begin_object(w);
        json_end_object(w);
        json_unsigned(w, 1);
        json_string(w, "");
        json_end_array(w);
        json_end_object(w);
}

static void write_empty_array(JsonWriter *w)
{
        json_begin_array(w);
        json_end_array(w);
}

static void test_json(void)
{
        _cleanup_(freep) char *sample = json_short(write_sample);
        _cleanup_(freep) char *empty = json_short(write_empty_array);

        tap_is_str(sample,
                   "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f/é\",\"null\":null,\"u\":18446744073709551615,"
                   "\"i\":-1,\"b\":false,\"empty\":[],\"a\":[{},1,\"\"]}\n",
                   "JSON: escaping, nesting and commas");
        tap_is_str(empty, "[]\n", "JSON: an empty array");
}

static void test_table(void)
{
        static const TableColumn columns[] = {
                { "NAME", ALIGN_LEFT },
                { "SIZE", ALIGN_RIGHT },
                { "NOTE", ALIGN_LEFT },
        };
        _cleanup_(table_freep) Table *t = table_new(columns, ELEMENTSOF(columns));
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        FILE *f;

        tap_ok(t && table_add_row(t, (const char *const[]){ "a", "128M", "" }) == 0 &&
                       table_add_row(t, (const char *const[]){ "longer", "1G", "x" }) == 0,
               "table: rows added");
        f = open_memstream(&buf, &size);
        if (!f)
                return;
        table_print(t, f);
        fclose(f);
        tap_is_str(buf,
                   "NAME   SIZE NOTE\n"
                   "a      128M -\n"
                   "longer   1G x\n",
                   "table: widths, alignment, \"-\" for empty cells, no trailing blanks");
}

int main(void)
{
        test_block_list();
        test_format_bytes();
        test_json();
        test_table();
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>

#include "json-writer.h"

void json_init(JsonWriter *w, FILE *f, bool pretty)
{
        assert(w);
        assert(f);

        *w = (JsonWriter){ .f = f, .pretty = pretty };
}

int json_finish(JsonWriter *w)
{
        assert(w);

        fputc('\n', w->f);
        if (fflush(w->f) != 0 || ferror(w->f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static void newline_indent(JsonWriter *w)
{
        if (!w->pretty)
                return;
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Whatever comes before a value or a key: nothing after a key, else a comma if needed. */
static void prefix(JsonWriter *w)
{
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->need_comma)
                fputc(',', w->f);
        if (w->depth > 0)
                newline_indent(w);
}

static void begin(JsonWriter *w, char c)
{
        prefix(w);
        fputc(c, w->f);
        w->depth++;
        w->need_comma = false;
}

static void end(JsonWriter *w, char c)
{
        w->depth--;
        /* need_comma says the container had members: only then close on a line of its own. */
        if (w->need_comma)
                newline_indent(w);
        fputc(c, w->f);
        w->need_comma = true;
}

void json_begin_object(JsonWriter *w)
{
        assert(w);

        begin(w, '{');
}

void json_end_object(JsonWriter *w)
{
        assert(w);

        end(w, '}');
}

void json_begin_array(JsonWriter *w)
{
        assert(w);

        begin(w, '[');
}

void json_end_array(JsonWriter *w)
{
        assert(w);

        end(w, ']');
}

static void write_escaped(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\b':
                        fputs("\\b", f);
                        break;
                case '\f':
                        fputs("\\f", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        /* Other control characters must be escaped. Bytes >= 0x80 pass as they
                         * are: D-Bus guarantees its strings are valid UTF-8. */
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        fputc('"', f);
}

void json_key(JsonWriter *w, const char *key)
{
        assert(w);
        assert(key);

        prefix(w);
        write_escaped(w->f, key);
        fputs(w->pretty ? ": " : ":", w->f);
        w->after_key = true;
        w->need_comma = true;
}

void json_string(JsonWriter *w, const char *s)
{
        assert(w);
        assert(s);

        prefix(w);
        write_escaped(w->f, s);
        w->need_comma = true;
}

void json_unsigned(JsonWriter *w, uint64_t v)
{
        assert(w);

        prefix(w);
        fprintf(w->f, "%" PRIu64, v);
        w->need_comma = true;
}

void json_signed(JsonWriter *w, int64_t v)
{
        assert(w);

        prefix(w);
        fprintf(w->f, "%" PRIi64, v);
        w->need_comma = true;
}

void json_bool(JsonWriter *w, bool b)
{
        assert(w);

        prefix(w);
        fputs(b ? "true" : "false", w->f);
        w->need_comma = true;
}

void json_null(JsonWriter *w)
{
        assert(w);

        prefix(w);
        fputs("null", w->f);
        w->need_comma = true;
}

void json_field_string(JsonWriter *w, const char *key, const char *s)
{
        assert(w);
        assert(key);

        json_key(w, key);
        if (s)
                json_string(w, s);
        else
                json_null(w);
}

void json_field_unsigned(JsonWriter *w, const char *key, uint64_t v)
{
        assert(w);
        assert(key);

        json_key(w, key);
        json_unsigned(w, v);
}

void json_field_signed(JsonWriter *w, const char *key, int64_t v)
{
        assert(w);
        assert(key);

        json_key(w, key);
        json_signed(w, v);
}

void json_field_bool(JsonWriter *w, const char *key, bool b)
{
        assert(w);
        assert(key);

        json_key(w, key);
        json_bool(w, b);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A streaming JSON writer: just enough for our output, with correct string escaping. The caller
 * keeps the nesting balanced; the writer places commas, colons and (pretty) indentation. */
typedef struct JsonWriter {
        FILE *f;
        bool pretty;
        unsigned depth;
        bool need_comma; /* a value was written in the current container */
        bool after_key;  /* the next value belongs to the key just written */
} JsonWriter;

void json_init(JsonWriter *w, FILE *f, bool pretty);
/* Ends the document with a newline; returns 0 or negative errno if writing failed. */
int json_finish(JsonWriter *w);

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);

void json_string(JsonWriter *w, const char *s);
void json_unsigned(JsonWriter *w, uint64_t v);
void json_signed(JsonWriter *w, int64_t v);
void json_bool(JsonWriter *w, bool b);
void json_null(JsonWriter *w);

/* Key and value in one call, for the common case. json_field_string() writes null for NULL. */
void json_field_string(JsonWriter *w, const char *key, const char *s);
void json_field_unsigned(JsonWriter *w, const char *key, uint64_t v);
void json_field_signed(JsonWriter *w, const char *key, int64_t v);
void json_field_bool(JsonWriter *w, const char *key, bool b);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "macro.h"

/* A text table with a header line and columns as wide as their widest cell, as lsmem prints. */
typedef enum Align {
        ALIGN_LEFT,
        ALIGN_RIGHT,
} Align;

typedef struct TableColumn {
        const char *header;
        Align align;
} TableColumn;

typedef struct Table Table;

Table *table_new(const TableColumn *columns, size_t n_columns);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

/* Adds a row of as many cells as the table has columns; they are copied. "" is shown as "-". */
int table_add_row(Table *t, const char *const *cells);
size_t table_rows(const Table *t);
int table_print(const Table *t, FILE *f);

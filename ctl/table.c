/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct Table {
        const TableColumn *columns;
        size_t n_columns;
        char **cells;
        size_t n_cells, allocated;
};

Table *table_new(const TableColumn *columns, size_t n_columns)
{
        Table *t;

        assert(columns);

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->columns = columns;
        t->n_columns = n_columns;
        return t;
}

Table *table_free(Table *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        return mfree(t);
}

static int add_owned(Table *t, char *s)
{
        if (t->n_cells == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 64;
                char **c = realloc(t->cells, n * sizeof(char *));

                if (!c) {
                        free(s);
                        return -ENOMEM;
                }
                t->cells = c;
                t->allocated = n;
        }
        t->cells[t->n_cells++] = s;
        return 0;
}

static int add_cell(Table *t, const char *s)
{
        char *c = strdup(s && *s ? s : "-");

        if (!c)
                return -ENOMEM;
        return add_owned(t, c);
}

int table_add_row(Table *t, const char *const *cells)
{
        int r;

        assert(t);
        assert(cells);

        for (size_t i = 0; i < t->n_columns; i++) {
                r = add_cell(t, cells[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

size_t table_rows(const Table *t)
{
        assert(t);

        return t->n_cells / t->n_columns;
}

static void print_cell(FILE *f, const char *s, Align align, size_t width, bool last)
{
        size_t pad = width - strlen(s);

        if (align == ALIGN_RIGHT)
                fprintf(f, "%*s%s", (int)pad, "", s);
        else if (last)
                fputs(s, f); /* no trailing blanks */
        else
                fprintf(f, "%s%*s", s, (int)pad, "");
        fputs(last ? "\n" : " ", f);
}

int table_print(const Table *t, FILE *f)
{
        _cleanup_(freep) size_t *width = NULL;
        size_t n_rows;

        assert(t);
        assert(f);

        n_rows = table_rows(t);
        width = calloc(t->n_columns, sizeof(size_t));
        if (!width)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                width[c] = strlen(t->columns[c].header);
                for (size_t row = 0; row < n_rows; row++) {
                        size_t l = strlen(t->cells[row * t->n_columns + c]);

                        if (l > width[c])
                                width[c] = l;
                }
        }

        for (size_t c = 0; c < t->n_columns; c++)
                print_cell(f, t->columns[c].header, t->columns[c].align, width[c], c + 1 == t->n_columns);
        for (size_t row = 0; row < n_rows; row++)
                for (size_t c = 0; c < t->n_columns; c++)
                        print_cell(f, t->cells[row * t->n_columns + c], t->columns[c].align, width[c],
                                   c + 1 == t->n_columns);
        return 0;
}

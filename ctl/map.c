/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "format-util.h"
#include "map.h"
#include "parse-util.h"

/* Room for the two blanks each row of cells starts with. */
#define MAP_INDENT      2
#define MAP_COLUMNS_MIN 40U
#define MAP_COLUMNS_MAX 4096U

static const struct {
        char letter;
        const char *sgr; /* the cell's colours: background, then a text colour that reads on it */
        const char *what;
} kinds[_MAP_KIND_MAX] = {
        [MAP_GOING_OFFLINE] = { 'G', "41;97", "being offlined" },
        [MAP_DRIFT] = { 'D', "43;30", "drifted" },
        [MAP_OFFLINE] = { 'O', "100;97", "offline" },
        [MAP_DAX] = { 'X', "45;97", "dax/CXL, not system RAM" },
        [MAP_KERNEL] = { 'K', "46;30", "kernel zone, hot-added" },
        [MAP_MOVABLE] = { 'M', "42;30", "movable" },
        [MAP_BOOT] = { 'B', "44;97", "boot memory (kernel zone)" },
        [MAP_HOLE] = { '.', NULL, "no memory" },
};

void map_done(Map *m)
{
        assert(m);

        free(m->blocks);
        free(m->devices);
        m->blocks = NULL;
        m->devices = NULL;
        m->n_blocks = m->n_devices = 0;
}

/* Appends the size bytes of element to the array of *n: its room doubles at each power of two. */
static int append(void **array, size_t *n, size_t size, const void *element)
{
        if ((*n & (*n - 1)) == 0) {
                void *p = realloc(*array, (*n ? *n * 2 : 16) * size);

                if (!p)
                        return -ENOMEM;
                *array = p;
        }
        memcpy((char *)*array + (*n)++ * size, element, size);
        return 0;
}

int map_add_block(Map *m, const MapBlock *b)
{
        assert(m);
        assert(b);

        return append((void **)&m->blocks, &m->n_blocks, sizeof(MapBlock), b);
}

int map_add_device(Map *m, const MapDevice *d)
{
        assert(m);
        assert(d);

        return append((void **)&m->devices, &m->n_devices, sizeof(MapDevice), d);
}

static int cmp_block(const void *x, const void *y)
{
        const MapBlock *a = x, *b = y;

        return a->start < b->start ? -1 : a->start > b->start;
}

static int cmp_device(const void *x, const void *y)
{
        const MapDevice *a = x, *b = y;

        return a->start < b->start ? -1 : a->start > b->start;
}

void map_sort(Map *m)
{
        assert(m);

        if (m->n_blocks > 0)
                qsort(m->blocks, m->n_blocks, sizeof(MapBlock), cmp_block);
        if (m->n_devices > 0)
                qsort(m->devices, m->n_devices, sizeof(MapDevice), cmp_device);
}

static int cmp_index(const void *key, const void *x)
{
        const uint32_t *index = key;
        const MapBlock *b = x;

        return *index < b->index ? -1 : *index > b->index;
}

const MapBlock *map_find_block(const Map *m, uint32_t index)
{
        assert(m);

        if (m->n_blocks == 0)
                return NULL;
        return bsearch(&index, m->blocks, m->n_blocks, sizeof(MapBlock), cmp_index);
}

static bool device_has(const MapDevice *d, const MapBlock *b)
{
        return b->start >= d->start && b->start < d->start + d->size;
}

MapKind map_block_kind(const Map *m, const MapBlock *b)
{
        assert(m);
        assert(b);

        if (streq(b->state, "going-offline"))
                return MAP_GOING_OFFLINE;
        if (!streq(b->state, "online"))
                return MAP_OFFLINE;
        if (b->drift)
                return MAP_DRIFT;
        if (streq(b->zone, "Movable"))
                return MAP_MOVABLE;
        /* A kernel zone: memory a DIMM or a dax device added later is not what the machine booted
         * with. (virtio-mem's and a probe's are, to this picture: sysfs does not tell them apart.) */
        for (size_t i = 0; i < m->n_devices; i++)
                if (device_has(&m->devices[i], b))
                        return MAP_KERNEL;
        return MAP_BOOT;
}

unsigned map_columns(int fd)
{
        const char *e = getenv("COLUMNS");
        struct winsize ws = {};
        unsigned n;

        if (e && parse_unsigned(e, 1, MAP_COLUMNS_MAX, &n) >= 0)
                return n;
        if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 80;
}

/* One row: a node's memory, from the cell of its lowest address to that of its highest. */
typedef struct MapRow {
        int32_t node;
        uint64_t low, high; /* [low, high) */
        uint64_t online, present;
} MapRow;

static MapRow *row_of(MapRow *rows, size_t *n, int32_t node)
{
        for (size_t i = 0; i < *n; i++)
                if (rows[i].node == node)
                        return &rows[i];
        rows[*n] = (MapRow){ .node = node, .low = UINT64_MAX };
        return &rows[(*n)++];
}

static void row_extend(MapRow *r, uint64_t start, uint64_t size)
{
        if (start < r->low)
                r->low = start;
        if (start + size > r->high)
                r->high = start + size;
}

static int cmp_row(const void *x, const void *y)
{
        const MapRow *a = x, *b = y;

        /* Memory on no node last. */
        if ((a->node < 0) != (b->node < 0))
                return a->node < 0 ? 1 : -1;
        return a->node < b->node ? -1 : a->node > b->node;
}

static int make_rows(const Map *m, MapRow **ret, size_t *ret_n)
{
        _cleanup_(freep) MapRow *rows = NULL;
        size_t n = 0;

        rows = calloc(m->n_blocks + m->n_devices + 1, sizeof(MapRow));
        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_blocks; i++) {
                const MapBlock *b = &m->blocks[i];
                MapRow *r = row_of(rows, &n, b->node);

                row_extend(r, b->start, b->size);
                r->present += b->size;
                if (streq(b->state, "online"))
                        r->online += b->size;
        }
        for (size_t i = 0; i < m->n_devices; i++)
                if (m->devices[i].size > 0)
                        row_extend(row_of(rows, &n, m->devices[i].node), m->devices[i].start,
                                   m->devices[i].size);
        qsort(rows, n, sizeof(MapRow), cmp_row);
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

static uint64_t row_cells(const MapRow *r, uint64_t cell)
{
        return (r->high - 1) / cell - r->low / cell + 1;
}

/* The fewest blocks a cell (a power of two, so cells fall on round addresses and line up from row
 * to row) that puts every row in width cells. */
static uint64_t blocks_per_cell(const Map *m, const MapRow *rows, size_t n, unsigned width)
{
        uint64_t k = 1;

        /* 2^59-byte cells put any 64-bit range in 32 cells; past them k * block_size could wrap. */
        for (; k * m->block_size < (UINT64_C(1) << 59); k *= 2) {
                bool fits = true;

                for (size_t i = 0; i < n && fits; i++)
                        fits = row_cells(&rows[i], k * m->block_size) <= width;
                if (fits)
                        break;
        }
        return k;
}

static char device_mark(size_t i)
{
        if (i < 9)
                return (char)('1' + i);
        if (i < 9 + 26)
                return (char)('a' + i - 9);
        return '*';
}

static void put_cell(FILE *f, bool color, MapKind kind, char letter, MapKind *open)
{
        if (color && kind != *open) {
                if (*open != _MAP_KIND_MAX)
                        fputs("\033[0m", f);
                if (kinds[kind].sgr)
                        fprintf(f, "\033[%sm", kinds[kind].sgr);
                *open = kinds[kind].sgr ? kind : _MAP_KIND_MAX;
        }
        fputc(letter, f);
}

static void end_cells(FILE *f, MapKind *open)
{
        if (*open != _MAP_KIND_MAX)
                fputs("\033[0m", f);
        *open = _MAP_KIND_MAX;
        fputc('\n', f);
}

/* The row's cells: each the first kind its blocks have, in lowercase when they are not all alike;
 * under them the devices' marks, then the devices. */
static int print_row(const Map *m, const MapRow *row, uint64_t cell, bool color, FILE *f)
{
        _cleanup_(freep) unsigned *mask = NULL;
        _cleanup_(freep) char *marks = NULL;
        uint64_t first = row->low / cell, n = row_cells(row, cell);
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], c[FORMAT_BYTES_MAX];
        MapKind open = _MAP_KIND_MAX;
        size_t n_dev = 0;
        bool any_mark = false;

        mask = calloc(n, sizeof(unsigned));
        marks = malloc(n + 1);
        if (!mask || !marks)
                return -ENOMEM;
        memset(marks, ' ', n);
        marks[n] = '\0';

        for (size_t i = 0; i < m->n_blocks; i++)
                if (m->blocks[i].node == row->node)
                        mask[m->blocks[i].start / cell - first] |= 1U << map_block_kind(m, &m->blocks[i]);
        for (size_t i = 0; i < m->n_devices; i++) {
                const MapDevice *d = &m->devices[i];
                char mark;

                if (d->node != row->node || d->size == 0)
                        continue;
                mark = device_mark(n_dev++);
                for (uint64_t k = d->start / cell; k <= (d->start + d->size - 1) / cell; k++) {
                        /* A device-dax device's memory is not system RAM: no block shows it. */
                        if (*d->mode && !streq(d->mode, "system-ram"))
                                mask[k - first] |= 1U << MAP_DAX;
                        marks[k - first] = marks[k - first] == ' ' ? mark : '+';
                }
                any_mark = true;
        }

        fputc('\n', f);
        if (row->node >= 0)
                fprintf(f, "node %" PRIi32, row->node);
        else
                fputs("no node", f);
        fprintf(f, "  0x%016" PRIx64 "-0x%016" PRIx64 "  %s, %s online\n", row->low, row->high - 1,
                format_bytes(a, row->present), format_bytes(b, row->online));
        fprintf(f, "%*s", MAP_INDENT, "");
        for (uint64_t k = 0; k < n; k++) {
                MapKind kind = MAP_HOLE;

                if (mask[k])
                        kind = (MapKind)__builtin_ctz(mask[k]);
                put_cell(f, color, kind,
                         (mask[k] & (mask[k] - 1)) ? (char)(kinds[kind].letter | 0x20) : kinds[kind].letter,
                         &open);
        }
        end_cells(f, &open);
        if (!any_mark)
                return 0;

        /* Trailing blanks would only make the golden files fragile. */
        for (size_t k = n; k > 0 && marks[k - 1] == ' '; k--)
                marks[k - 1] = '\0';
        fprintf(f, "%*s%s\n", MAP_INDENT, "", marks);
        n_dev = 0;
        for (size_t i = 0; i < m->n_devices; i++) {
                const MapDevice *d = &m->devices[i];

                if (d->node != row->node || d->size == 0)
                        continue;
                fprintf(f, "%*s%c %-12s %-6s %6s  0x%" PRIx64 "-0x%" PRIx64 "%s%s\n", MAP_INDENT, "",
                        device_mark(n_dev++), d->name, d->source, format_bytes(c, d->size), d->start,
                        d->start + d->size - 1, *d->mode ? "  " : "", d->mode);
        }
        return 0;
}

static void print_legend(bool color, FILE *f)
{
        static const struct {
                MapKind kind;
                bool newline;
        } order[] = {
                { MAP_BOOT, false },          { MAP_KERNEL, false }, { MAP_MOVABLE, true },
                { MAP_OFFLINE, false },       { MAP_DRIFT, false },  { MAP_DAX, true },
                { MAP_GOING_OFFLINE, false }, { MAP_HOLE, false },
        };

        fputs("\nLegend: ", f);
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                MapKind open = _MAP_KIND_MAX, k = order[i].kind;

                put_cell(f, color, k, kinds[k].letter, &open);
                if (open != _MAP_KIND_MAX)
                        fputs("\033[0m", f);
                fprintf(f, " %s", kinds[k].what);
                fputs(order[i].newline ? "\n        " : "  ", f);
        }
        fputs("1-9 a-z devices, + more than one\n"
              "A merged cell shows the first of G D O X K M B that its blocks are, in\n"
              "lowercase when they are not all the same.\n",
              f);
}

int map_print(const Map *m, unsigned columns, bool color, FILE *f)
{
        _cleanup_(freep) MapRow *rows = NULL;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX];
        uint64_t k;
        size_t n;
        int r;

        assert(m);
        assert(f);

        fprintf(f, "Memory map by NUMA node, from %s%s\n", m->origin,
                m->drift_known ? "." : ": memhotplugd is not running, no drift.");
        if (m->n_blocks == 0 || m->block_size == 0) {
                fputs("No memory blocks.\n", f);
                return 0;
        }
        r = make_rows(m, &rows, &n);
        if (r < 0)
                return r;
        if (columns < MAP_COLUMNS_MIN)
                columns = MAP_COLUMNS_MIN;
        k = blocks_per_cell(m, rows, n, columns - MAP_INDENT);
        format_bytes(a, k * m->block_size);
        format_bytes(b, m->block_size);
        if (k == 1)
                fprintf(f, "Scale: 1 cell = %s (1 block).\n", a);
        else
                fprintf(f, "Scale: 1 cell = %s (%" PRIu64 " blocks of %s), merged to fit %u columns.\n", a,
                        k, b, columns);
        for (size_t i = 0; i < n; i++) {
                r = print_row(m, &rows[i], k * m->block_size, color, f);
                if (r < 0)
                        return r;
        }
        if (m->hidden_devices > 0)
                fprintf(f, "\n%u dax device(s) not drawn: only root may read their ranges.\n",
                        m->hidden_devices);
        print_legend(color, f);
        return 0;
}

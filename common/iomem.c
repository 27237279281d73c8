/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "iomem.h"
#include "macro.h"
#include "parse-util.h"

/* A line is "<indent><start>-<end> : <name>", the indent two blanks a level. */
static int parse_line(char *line, size_t *ret_indent, uint64_t *ret_start, uint64_t *ret_end,
                      const char **ret_name)
{
        size_t indent = strspn(line, " ");
        char *p = line + indent, *dash, *colon;
        int r;

        line[strcspn(line, "\n")] = '\0';
        dash = strchr(p, '-');
        colon = strstr(p, " : ");
        if (!dash || !colon || dash > colon)
                return -EBADMSG;
        *dash = *colon = '\0';
        r = parse_hex_u64(p, ret_start);
        if (r < 0)
                return -EBADMSG;
        r = parse_hex_u64(dash + 1, ret_end);
        if (r < 0 || *ret_end < *ret_start)
                return -EBADMSG;
        *ret_indent = indent;
        *ret_name = colon + 3;
        return 0;
}

int iomem_find(FILE *f, const char *name, uint64_t *ret_start, uint64_t *ret_end)
{
        _cleanup_(freep) char *line = NULL;
        size_t size = 0;

        assert(f);
        assert(name);
        assert(ret_start);
        assert(ret_end);

        while (getline(&line, &size, f) > 0) {
                uint64_t start, end;
                const char *n;
                size_t indent;

                if (parse_line(line, &indent, &start, &end, &n) < 0)
                        return -EBADMSG;
                if (!streq(n, name))
                        continue;
                *ret_start = start;
                *ret_end = end;
                return 0;
        }
        return -ENOENT;
}

void iomem_virtio_mem_free(IomemVirtioMem *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(l[i].ram);
        free(l);
}

static int push_device(IomemVirtioMem **l, size_t *n, const char *name, uint64_t start, uint64_t end)
{
        IomemVirtioMem *a = reallocarray(*l, *n + 1, sizeof(IomemVirtioMem));

        if (!a)
                return -ENOMEM;
        a[*n] = (IomemVirtioMem){ .region = { start, end } };
        snprintf(a[*n].name, sizeof(a[*n].name), "%s", name);
        *l = a;
        (*n)++;
        return 0;
}

static int push_ram(IomemVirtioMem *d, uint64_t start, uint64_t end)
{
        IomemRange *a = reallocarray(d->ram, d->n_ram + 1, sizeof(IomemRange));

        if (!a)
                return -ENOMEM;
        a[d->n_ram++] = (IomemRange){ start, end };
        d->ram = a;
        return 0;
}

int iomem_read_virtio_mem(FILE *f, IomemVirtioMem **ret, size_t *ret_n, bool *ret_hidden)
{
        _cleanup_(freep) char *line = NULL;
        IomemVirtioMem *l = NULL;
        size_t size = 0, n = 0, parent_indent = SIZE_MAX, lines = 0, zero = 0;
        int r = 0;

        assert(f);
        assert(ret);
        assert(ret_n);
        assert(ret_hidden);

        while (getline(&line, &size, f) > 0) {
                uint64_t start, end;
                unsigned index;
                const char *name;
                size_t indent;

                r = parse_line(line, &indent, &start, &end, &name);
                if (r < 0)
                        break;
                lines++;
                zero += start == 0 && end == 0;
                /* Below the device last seen: its System RAM. */
                if (parent_indent != SIZE_MAX && indent > parent_indent) {
                        if (streq(name, IOMEM_VIRTIO_MEM_RAM)) {
                                r = push_ram(&l[n - 1], start, end);
                                if (r < 0)
                                        break;
                        }
                        continue;
                }
                parent_indent = SIZE_MAX;
                if (parse_sysname_index(name, "virtio", UINT_MAX, &index) < 0)
                        continue;
                r = push_device(&l, &n, name, start, end);
                if (r < 0)
                        break;
                parent_indent = indent;
        }
        if (r < 0) {
                iomem_virtio_mem_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        /* Without the capability every line reads 0-0; with it only none or the first could. */
        *ret_hidden = lines > 1 && zero == lines;
        return 0;
}

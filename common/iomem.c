/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "iomem.h"
#include "macro.h"
#include "parse-util.h"

/* A line is "<indent><start>-<end> : <name>", the indent two blanks a level. */
static int parse_line(char *line, uint64_t *ret_start, uint64_t *ret_end, const char **ret_name)
{
        char *p = line + strspn(line, " "), *dash, *colon;
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
        *ret_name = colon + 3;
        return 0;
}

int iomem_find(FILE *f, const char *name, uint64_t *ret_start, uint64_t *ret_end)
{
        _cleanup_(freep) char *line = NULL;
        size_t size = 0;

        while (getline(&line, &size, f) > 0) {
                uint64_t start, end;
                const char *n;

                if (parse_line(line, &start, &end, &n) < 0)
                        return -EBADMSG;
                if (!streq(n, name))
                        continue;
                *ret_start = start;
                *ret_end = end;
                return 0;
        }
        return -ENOENT;
}

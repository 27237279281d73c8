/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block-list.h"
#include "macro.h"
#include "parse-util.h"

/* One block number, with or without the sysfs name's "memory" prefix. */
static int parse_block(const char *s, unsigned *ret)
{
        if (strncmp(s, "memory", strlen("memory")) == 0)
                s += strlen("memory");
        return parse_unsigned(s, 0, UINT32_MAX, ret);
}

static int parse_token(const char *token, unsigned *ret_first, unsigned *ret_last)
{
        _cleanup_(freep) char *first = NULL;
        const char *dash;
        unsigned a, b;
        int r;

        dash = strchr(token, '-');
        if (!dash) {
                r = parse_block(token, &a);
                if (r < 0)
                        return r;
                *ret_first = *ret_last = a;
                return 0;
        }
        first = strndup(token, dash - token);
        if (!first)
                return -ENOMEM;
        r = parse_block(first, &a);
        if (r < 0)
                return r;
        r = parse_block(dash + 1, &b);
        if (r < 0)
                return r;
        if (b < a)
                return -ERANGE;
        *ret_first = a;
        *ret_last = b;
        return 0;
}

int block_list_parse(char *const *args, size_t n_args, unsigned **ret, size_t *ret_n, char **ret_bad)
{
        _cleanup_(freep) unsigned *l = NULL;
        size_t n = 0, allocated = 0;
        int r;

        assert(args);
        assert(ret);
        assert(ret_n);

        for (size_t i = 0; i < n_args; i++) {
                _cleanup_(freep) char *copy = strdup(args[i]);
                char *saveptr = NULL;
                size_t before = n;

                if (!copy)
                        return -ENOMEM;
                for (char *token = strtok_r(copy, " \t\n,", &saveptr); token;
                     token = strtok_r(NULL, " \t\n,", &saveptr)) {
                        unsigned first, last;

                        r = parse_token(token, &first, &last);
                        if (r < 0) {
                                if (ret_bad && r != -ENOMEM)
                                        *ret_bad = strdup(token);
                                return r;
                        }
                        if ((uint64_t)last - first + 1 > BLOCK_LIST_MAX - n)
                                return -E2BIG;
                        if (n + (last - first + 1) > allocated) {
                                size_t a = (n + (last - first + 1)) * 2;
                                unsigned *p;

                                if (a > BLOCK_LIST_MAX)
                                        a = BLOCK_LIST_MAX;
                                p = realloc(l, a * sizeof(unsigned));
                                if (!p)
                                        return -ENOMEM;
                                l = p;
                                allocated = a;
                        }
                        for (uint64_t b = first; b <= last; b++)
                                l[n++] = (unsigned)b;
                }
                /* ",,," or "": no block at all, and that argument is what to show. */
                if (n == before) {
                        if (ret_bad)
                                *ret_bad = strdup(args[i]);
                        return -EINVAL;
                }
        }
        if (n == 0)
                return -EINVAL;
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

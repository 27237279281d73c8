/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "read-file.h"
#include "zoneinfo.h"

/* A machine has at most MAX_NUMNODES (1024) nodes of at most 6 zones. */
#define ZONES_MAX 8192

/* "protection: (0, 1913, 1913, 1913, 1913)" */
static void parse_protection(const char *s, HeadroomZone *z)
{
        s = strchr(s, '(');
        if (!s)
                return;
        s++;
        while (z->n_protection < HEADROOM_ZONES_MAX) {
                char *end;
                unsigned long long v = strtoull(s, &end, 10);

                if (end == s)
                        return;
                z->protection[z->n_protection++] = v;
                s = end + strspn(end, ", ");
        }
}

int zoneinfo_read(const char *path, HeadroomZone **ret, size_t *ret_n)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(freep) HeadroomZone *zones = NULL;
        _cleanup_(freep) char *line = NULL;
        HeadroomZone *z = NULL;
        size_t n = 0, cap = 0, len = 0;
        int r;

        assert(path);
        assert(ret);
        assert(ret_n);

        r = fopen_capped_at(AT_FDCWD, path, ZONEINFO_READ_MAX, &f);
        if (r < 0)
                return r;
        while (getline(&line, &len, f) > 0) {
                char key[32], name[16];
                unsigned long long v;
                int node;

                if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
                        unsigned index = 0;

                        if (node < 0 || node > (int)NODE_INDEX_MAX || n >= ZONES_MAX)
                                return -EBADMSG;
                        if (n == cap) {
                                HeadroomZone *l =
                                        reallocarray(zones, cap ? cap * 2 : 8, sizeof(HeadroomZone));

                                if (!l)
                                        return -ENOMEM;
                                zones = l;
                                cap = cap ? cap * 2 : 8;
                        }
                        /* The zones of a node come together, lowest first: the index is the
                         * kernel's zone number, the one protection[] is indexed by. */
                        if (n > 0 && zones[n - 1].node == node)
                                index = zones[n - 1].index + 1;
                        z = &zones[n++];
                        *z = (HeadroomZone){ .node = node, .index = index };
                        snprintf(z->name, sizeof(z->name), "%s", name);
                        z->movable = streq(name, "Movable") || streq(name, "Device");
                        continue;
                }
                if (!z)
                        continue;
                if (sscanf(line, " pages free %llu", &v) == 1)
                        z->free = v;
                else if (sscanf(line, " %31s %llu", key, &v) == 2 && streq(key, "high"))
                        z->high = v;
                else if (sscanf(line, " %31s", key) == 1 && streq(key, "protection:"))
                        parse_protection(line, z);
        }
        if (ferror(f))
                return -EIO;
        *ret = TAKE_PTR(zones);
        *ret_n = n;
        return 0;
}

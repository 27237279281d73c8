/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "fileio.h"
#include "parse-util.h"
#include "read-file.h"

/* A node line per node at most: 1024 nodes of "1023:18446744073709551615 " fit in 32 KiB. */
#define CAPACITY_FILE_MAX ((size_t)64 << 10)

void capacity_done(Capacity *c)
{
        if (!c)
                return;
        free(c->node_online);
        *c = (Capacity){};
}

static int capacity_add(Capacity *c, unsigned node, uint64_t bytes)
{
        if (node >= c->n_nodes) {
                uint64_t *a = realloc(c->node_online, (node + 1) * sizeof(uint64_t));

                if (!a)
                        return -ENOMEM;
                memset(a + c->n_nodes, 0, (node + 1 - c->n_nodes) * sizeof(uint64_t));
                c->node_online = a;
                c->n_nodes = node + 1;
        }
        c->node_online[node] += bytes;
        return 0;
}

int capacity_measure(const Manager *m, Capacity *ret)
{
        Capacity c = {};
        int r;

        assert(m);
        assert(ret);

        for (size_t i = 0; i < m->n_blocks; i++) {
                const Block *b = &m->blocks[i];

                if (!block_known(b) || b->state != BLOCK_ONLINE)
                        continue;
                c.online += m->block_size;
                /* A block whose node is not known yet counts in the total only. */
                if (b->node < 0)
                        continue;
                r = capacity_add(&c, (unsigned)b->node, m->block_size);
                if (r < 0) {
                        capacity_done(&c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

static uint64_t node_bytes(const Capacity *c, size_t node)
{
        return node < c->n_nodes ? c->node_online[node] : 0;
}

bool capacity_equal(const Capacity *a, const Capacity *b)
{
        size_t n;

        assert(a);
        assert(b);

        if (a->online != b->online)
                return false;
        n = a->n_nodes > b->n_nodes ? a->n_nodes : b->n_nodes;
        for (size_t i = 0; i < n; i++)
                if (node_bytes(a, i) != node_bytes(b, i))
                        return false;
        return true;
}

int capacity_format(const Capacity *c, char **ret)
{
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(c);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# memhotplugd: the online memory after the last hot-add or unplug (memhotplugd(8), "
                "CAPACITY EVENTS)\n"
                "CAPACITY_SEQUENCE=%" PRIu64 "\nONLINE_BYTES=%" PRIu64 "\nNODE_ONLINE_BYTES=\"",
                c->sequence, c->online);
        for (size_t i = 0, k = 0; i < c->n_nodes; i++)
                if (c->node_online[i] > 0)
                        fprintf(f, "%s%zu:%" PRIu64, k++ ? " " : "", i, c->node_online[i]);
        fputs("\"\n", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* "0:4294967296 1:2147483648" */
static int parse_nodes(char *s, Capacity *c)
{
        char *save = NULL;
        int r;

        for (char *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                char *colon = strchr(w, ':');
                unsigned node;
                uint64_t bytes;

                if (!colon)
                        return -EBADMSG;
                *colon = '\0';
                if (parse_unsigned(w, 0, NODE_INDEX_MAX, &node) < 0 || parse_u64(colon + 1, &bytes) < 0)
                        return -EBADMSG;
                r = capacity_add(c, node, bytes);
                if (r < 0)
                        return r;
        }
        return 0;
}

int capacity_parse(const char *text, Capacity *ret)
{
        _cleanup_(freep) char *copy = NULL;
        Capacity c = {};
        bool have_seq = false, have_online = false;
        char *save = NULL;
        int r = 0;

        assert(text);
        assert(ret);

        copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '='), *v;
                size_t n;

                if (line[0] == '#')
                        continue;
                if (!eq) {
                        r = -EBADMSG;
                        break;
                }
                *eq = '\0';
                v = eq + 1;
                if (streq(line, "CAPACITY_SEQUENCE")) {
                        r = parse_u64(v, &c.sequence) < 0 ? -EBADMSG : 0;
                        have_seq = true;
                } else if (streq(line, "ONLINE_BYTES")) {
                        r = parse_u64(v, &c.online) < 0 ? -EBADMSG : 0;
                        have_online = true;
                } else if (streq(line, "NODE_ONLINE_BYTES")) {
                        n = strlen(v);
                        if (n < 2 || v[0] != '"' || v[n - 1] != '"') {
                                r = -EBADMSG;
                                break;
                        }
                        v[n - 1] = '\0';
                        r = parse_nodes(v + 1, &c);
                }
                /* Other keys: a later version's; what this one compares is above. */
        }
        if (r >= 0 && (!have_seq || !have_online))
                r = -EBADMSG;
        if (r < 0) {
                capacity_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

static int capacity_path(const char *dir, char **ret)
{
        return asprintf(ret, "%s/" CAPACITY_FILE, dir) < 0 ? -ENOMEM : 0;
}

int capacity_load(const char *dir, Capacity *ret)
{
        _cleanup_(freep) char *path = NULL, *text = NULL;
        size_t size;
        int r;

        assert(dir);
        assert(ret);

        r = capacity_path(dir, &path);
        if (r < 0)
                return r;
        r = read_file_capped_at(AT_FDCWD, path, CAPACITY_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        return capacity_parse(text, ret);
}

int capacity_remove_temporaries(const char *dir)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        assert(dir);

        r = capacity_path(dir, &path);
        if (r < 0)
                return r;
        return remove_stale_temporaries(path);
}

int capacity_save(const char *dir, const Capacity *c)
{
        _cleanup_(freep) char *path = NULL, *text = NULL;
        int r;

        assert(dir);
        assert(c);

        r = capacity_path(dir, &path);
        if (r < 0)
                return r;
        r = capacity_format(c, &text);
        if (r < 0)
                return r;
        return write_file_atomic(path, text);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "bus.h"
#include "macro.h"
#include "memblock.h"
#include "parse-util.h"

/* org.memhotplug1.Block on /org/memhotplug1/block/N, one object per present memory block. The
 * objects are virtual (a fallback vtable over the block table): nothing to keep in sync. Their
 * properties do not emit change signals; the Manager's BlockStatesChanged signal carries that. */

/* The strict parser of block names: a path is the name the object was given, so .../block/00002
 * and .../block/4294967295 name no block (a loose parser took the first as block 2). */
static int path_to_index(const char *path, unsigned *ret)
{
        return parse_sysname_index(path, BUS_BLOCK_PREFIX "/", BLOCK_INDEX_MAX, ret);
}

int bus_block_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error)
{
        Manager *m;
        unsigned index;

        assert(bus);
        assert(path);
        assert(interface);
        assert(userdata);
        assert(found);
        assert(error);

        m = userdata;

        if (path_to_index(path, &index) < 0 || !manager_block_present(m, index))
                return 0;
        *found = m;
        return 1;
}

int bus_block_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error)
{
        Manager *m;
        size_t n = 0, k = 0;
        char **l;

        assert(bus);
        assert(path);
        assert(userdata);
        assert(nodes);
        assert(error);

        m = userdata;

        for (size_t i = 0; i < m->n_blocks; i++)
                n += block_known(&m->blocks[i]);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_blocks && k < n; i++) {
                if (!block_known(&m->blocks[i]))
                        continue;
                if (asprintf(&l[k++], BUS_BLOCK_PREFIX "/%zu", i) < 0) {
                        for (size_t j = 0; j + 1 < k; j++)
                                free(l[j]);
                        free(l);
                        return -ENOMEM;
                }
        }
        *nodes = l;
        return 0;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const Block *b;
        unsigned index;
        char buf[64];

        if (path_to_index(path, &index) < 0 || !manager_block_present(m, index))
                return -ENOENT;
        b = &m->blocks[index];

        if (streq(property, "Index"))
                return sd_bus_message_append(reply, "u", index);
        if (streq(property, "Node"))
                return sd_bus_message_append(reply, "i", b->node);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", block_state_to_string(b->state));
        if (streq(property, "Zone"))
                return sd_bus_message_append(reply, "s", b->zone ? zone_to_string(b->zone) : "");
        if (streq(property, "PhysStart"))
                return sd_bus_message_append(reply, "t", (uint64_t)index * m->block_size);
        if (streq(property, "Size"))
                return sd_bus_message_append(reply, "t", m->block_size);
        if (streq(property, "Rule")) {
                manager_block_rule(m, b->node, buf, sizeof(buf));
                return sd_bus_message_append(reply, "s", buf);
        }

        if (streq(property, "Removable"))
                return sd_bus_message_append(reply, "b", manager_block_removable(m, index));
        /* ValidZones: as the daemon last read it, on each event of the block. */
        manager_block_valid_zones(m, index, buf, sizeof(buf));
        return sd_bus_message_append(reply, "s", buf);
}

const sd_bus_vtable bus_block_vtable[] = {
        SD_BUS_VTABLE_START(0),
        /* Index, PhysStart and Size follow from the path and the Manager's BlockSize: asked for by
         * name only, they stay out of GetAll and GetManagedObjects (24 to 32 bytes a block each). */
        SD_BUS_PROPERTY("Index", "u", property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST | SD_BUS_VTABLE_PROPERTY_EXPLICIT),
        SD_BUS_PROPERTY("Node", "i", property_get, 0, 0),
        SD_BUS_PROPERTY("State", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("Zone", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("ValidZones", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("PhysStart", "t", property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST | SD_BUS_VTABLE_PROPERTY_EXPLICIT),
        SD_BUS_PROPERTY("Size", "t", property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST | SD_BUS_VTABLE_PROPERTY_EXPLICIT),
        SD_BUS_PROPERTY("Removable", "b", property_get, 0, 0),
        SD_BUS_PROPERTY("Rule", "s", property_get, 0, 0),
        SD_BUS_VTABLE_END,
};

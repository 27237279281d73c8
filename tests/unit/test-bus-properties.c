/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus-internal.h"
#include "tap.h"

/* A property that says EMITS_CHANGE but belongs to no DIRTY_* group would never be announced:
 * clients caching it would keep a stale value (as ChunkBlocks once did after a reload). */

static bool in_a_group(const char *property, unsigned *ret_flag)
{
        for (const BusPropertyGroup *g = bus_manager_property_groups; g->flag; g++)
                for (size_t i = 0; i < ELEMENTSOF(g->properties) && g->properties[i]; i++)
                        if (streq(g->properties[i], property)) {
                                *ret_flag = g->flag;
                                return true;
                        }
        return false;
}

static const sd_bus_vtable *find_property(const char *name)
{
        for (const sd_bus_vtable *v = bus_manager_vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if ((v->type == _SD_BUS_VTABLE_PROPERTY || v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) &&
                    streq(v->x.property.member, name))
                        return v;
        return NULL;
}

int main(void)
{
        unsigned flag = 0;

        for (const sd_bus_vtable *v = bus_manager_vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_PROPERTY && v->type != _SD_BUS_VTABLE_WRITABLE_PROPERTY)
                        continue;
                if (v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
                        tap_ok(in_a_group(v->x.property.member, &flag), "%s emits changes and has a group",
                               v->x.property.member);
                else
                        tap_ok(!in_a_group(v->x.property.member, &flag),
                               "%s does not emit changes, no group", v->x.property.member);
        }

        /* And the other way round: every name in a group is a property that emits changes. */
        for (const BusPropertyGroup *g = bus_manager_property_groups; g->flag; g++)
                for (size_t i = 0; i < ELEMENTSOF(g->properties) && g->properties[i]; i++) {
                        const sd_bus_vtable *v = find_property(g->properties[i]);

                        tap_ok(v && (v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
                               "group member %s is an EMITS_CHANGE property", g->properties[i]);
                }

        tap_ok(in_a_group("ChunkBlocks", &flag) && flag == DIRTY_CONFIG,
               "ChunkBlocks changes with the config");
        return tap_done();
}

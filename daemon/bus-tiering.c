/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>

#include "bus-internal.h"
#include "tiering.h"

/* The Manager's tiering properties: read from sysfs when asked, as the kernel may change them
 * under us (a tier appears when a node's first memory comes online). */

int bus_property_get_tiering(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) int *tiers = NULL;
        Manager *m;
        char buf[512];
        int r;

        assert(bus);
        assert(path);
        assert(interface);
        assert(property);
        assert(reply);
        assert(userdata);
        assert(error);

        m = userdata;

        if (streq(property, "Demotion"))
                return sd_bus_message_append(reply, "s", tiering_demotion_state(m));
        if (streq(property, "DemotionMode"))
                return sd_bus_message_append(reply, "s", demotion_mode_to_string(m->config->demotion));

        tiers = malloc(NODES_MAX * sizeof(int));
        if (!tiers)
                return -ENOMEM;
        if (tiers_read(m->sysfs, tiers) < 0)
                for (int i = 0; i < NODES_MAX; i++)
                        tiers[i] = -1;

        if (streq(property, "NodeTiers")) {
                r = sd_bus_message_open_container(reply, 'a', "(iib)");
                if (r < 0)
                        return r;
                for (int i = 0; i < NODES_MAX; i++) {
                        if (tiers[i] < 0)
                                continue;
                        r = sd_bus_message_append(reply, "(iib)", i, tiers[i],
                                                  tiers_node_has_cpus(m->sysfs, i) > 0);
                        if (r < 0)
                                return r;
                }
                return sd_bus_message_close_container(reply);
        }

        /* TieringWarnings */
        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (int i = 0; i < NODES_MAX; i++)
                if (tiering_node_warning(m, i, tiers, buf, sizeof(buf))) {
                        r = sd_bus_message_append(reply, "s", buf);
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(reply);
}

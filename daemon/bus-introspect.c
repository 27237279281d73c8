/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-internal.h"
#include "bus.h"
#include "dax.h"
#include "devices.h"
#include "time-constants.h"

/* Prints the org.memhotplug1.* interfaces of an introspection document, leaving out the standard
 * ones every object has. */
static void print_own_interfaces(FILE *f, const char *xml)
{
        const char *p = xml, *end;

        while ((p = strstr(p, " <interface name=\"" BUS_NAME "."))) {
                end = strstr(p, " </interface>\n");
                if (!end)
                        return;
                end += strlen(" </interface>\n");
                fwrite(p, 1, end - p, f);
                p = end;
        }
}

/* Runs the vtables on one end of a socket pair and asks for their introspection from the other:
 * the XML is what a client on the bus would see, generated from the same vtables. */
int bus_introspect(FILE *f)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *server = NULL, *client = NULL;
        static const char *const paths[] = { BUS_PATH, BUS_BLOCK_PREFIX "/0",
                                             BUS_DEVICE_PREFIX "/dax0_2e0" };
        _cleanup_(config_freep) Config *config = NULL;
        Manager m = {};
        Block block = { .node = 0, .life = BLOCK_LIFE_PRESENT };
        DaxDevice dax = { .name = (char *)"dax0.0", .target_node = -1 };
        Device device = { .dax = &dax };
        DeviceTable devices = { .list = &device, .n = 1 };
        int fds[2], r;
        sd_id128_t id;

        assert(f);

        config = calloc(1, sizeof(Config));
        if (!config)
                return -ENOMEM;
        config_init_defaults(config);
        m.config = config;
        m.blocks = &block;
        m.n_blocks = 1;
        m.devices = &devices;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return negative_errno();
        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        if ((r = sd_bus_new(&server)) < 0 || (r = sd_bus_set_fd(server, fds[0], fds[0])) < 0 ||
            (r = sd_bus_set_server(server, true, id)) < 0 || (r = bus_add_objects(&m, server)) < 0 ||
            (r = sd_bus_start(server)) < 0)
                return r;
        if ((r = sd_bus_new(&client)) < 0 || (r = sd_bus_set_fd(client, fds[1], fds[1])) < 0 ||
            (r = sd_bus_start(client)) < 0)
                return r;

        fprintf(f, "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
                   "\"https://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
                   "<!-- Written by memhotplugd (option bus-introspect); the tests compare it with the "
                   "vtables. -->\n"
                   "<node>\n");
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
                const char *xml;
                uint64_t cookie;

                r = sd_bus_message_new_method_call(client, &call, NULL, paths[i],
                                                   "org.freedesktop.DBus.Introspectable", "Introspect");
                if (r < 0)
                        return r;
                r = sd_bus_send(client, call, &cookie);
                if (r < 0)
                        return r;
                /* Both ends live in this thread: turn the crank until the answer arrives. */
                for (int tries = 0; tries < 1000; tries++) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
                        uint64_t reply_cookie;

                        (void)sd_bus_process(server, NULL);
                        r = sd_bus_process(client, &msg);
                        if (r < 0)
                                return r;
                        if (msg && sd_bus_message_get_reply_cookie(msg, &reply_cookie) >= 0 &&
                            reply_cookie == cookie) {
                                if (sd_bus_message_is_method_error(msg, NULL))
                                        return -EIO;
                                r = sd_bus_message_read(msg, "s", &xml);
                                if (r < 0)
                                        return r;
                                print_own_interfaces(f, xml);
                                break;
                        }
                        if (r == 0)
                                (void)sd_bus_wait(client, INTROSPECT_WAIT_USEC);
                }
        }
        fprintf(f, "</node>\n");
        return fflush(f) == 0 ? 0 : negative_errno();
}

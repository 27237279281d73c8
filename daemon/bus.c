/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-internal.h"
#include "bus.h"
#include "dax.h"
#include "log.h"

/* The connection, the calls that wait for their blocks, and the batching of change signals. */

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_error("Failed to acquire the bus name %s: %s", BUS_NAME, e->message);
        else
                log_debug("Acquired the bus name %s", BUS_NAME);
        return 0;
}

static int on_emit(sd_event_source *s, void *userdata)
{
        return bus_flush_dirty(userdata);
}

int bus_setup(Manager *m)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *address;
        int r;

        r = sd_bus_error_add_map(bus_error_map);
        if (r < 0)
                return r;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        r = sd_bus_set_address(bus, address ?: "unix:path=/run/dbus/system_bus_socket");
        if (r < 0)
                return r;
        (void)sd_bus_set_description(bus, "system-bus");
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        /* The system bus may not be up yet at early boot: wait for its socket instead of failing. */
        r = sd_bus_set_watch_bind(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_set_connected_signal(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_creds(bus, true, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID);
        if (r < 0)
                return r;

        r = bus_add_objects(m, bus);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        /* Queued until the connection is up. */
        r = sd_bus_request_name_async(bus, NULL, BUS_NAME, 0, on_name_acquired, m);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        /* Change signals go out once per loop iteration, after the work that caused them. */
        r = sd_event_add_defer(m->event, &m->emit_source, on_emit, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_priority(m->emit_source, SD_EVENT_PRIORITY_IDLE);
        (void)sd_event_source_set_enabled(m->emit_source, m->dirty ? SD_EVENT_ONESHOT : SD_EVENT_OFF);

        m->bus = TAKE_PTR(bus);
        return 0;
}

static Request *request_free(Request *q)
{
        if (!q)
                return NULL;
        sd_bus_message_unref(q->message);
        free(q->device);
        free(q->indices);
        free(q->results);
        free(q);
        return NULL;
}

void bus_free(Manager *m)
{
        while (m->requests) {
                Request *q = m->requests;

                m->requests = q->next;
                (void)sd_bus_reply_method_errorf(q->message, SD_BUS_ERROR_NO_REPLY,
                                                 "The daemon is stopping");
                request_free(q);
        }
        m->emit_source = sd_event_source_disable_unref(m->emit_source);
        m->bus = sd_bus_flush_close_unref(m->bus);
}

int request_reply(Request *q)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(q->message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', BUS_ROW_RESULT);
        if (r < 0)
                return r;
        for (size_t i = 0; i < q->n; i++) {
                int e = q->results[i];

                r = sd_bus_message_append(reply, BUS_ROW_RESULT, q->indices[i], e >= 0,
                                          e == RESULT_ALREADY ? "already in that state"
                                          : e == RESULT_ZONE_NOT_ALLOWED
                                                  ? "valid_zones does not offer that zone"
                                          : e == -ENODEV    ? "removed"
                                          : e == -ECANCELED ? "cancelled by a later request"
                                          : e < 0           ? strerror(-e)
                                                            : "");
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

void bus_block_done(Manager *m, unsigned index, int error)
{
        for (Request **p = &m->requests; *p;) {
                Request *q = *p;

                for (size_t i = 0; i < q->n; i++)
                        if (q->indices[i] == index && q->results[i] == RESULT_PENDING) {
                                q->results[i] = error;
                                q->pending--;
                        }
                if (q->pending > 0) {
                        p = &q->next;
                        continue;
                }
                *p = q->next;
                if ((q->on_done ? q->on_done(m, q) : request_reply(q)) < 0)
                        log_warning("Failed to send the reply to a block request, ignoring");
                request_free(q);
        }
}

int request_new(Manager *m, sd_bus_message *message, const unsigned *indices, size_t n, Request **ret)
{
        Request *q;

        q = calloc(1, sizeof(Request));
        if (!q)
                return -ENOMEM;
        q->indices = malloc(n * sizeof(unsigned));
        q->results = malloc(n * sizeof(int));
        if (!q->indices || !q->results) {
                request_free(q);
                return -ENOMEM;
        }
        memcpy(q->indices, indices, n * sizeof(unsigned));
        for (size_t i = 0; i < n; i++)
                q->results[i] = RESULT_PENDING;
        q->n = q->pending = n;
        q->message = sd_bus_message_ref(message);
        q->next = m->requests;
        m->requests = q;
        *ret = q;
        return 0;
}

/* Results known at once (a block already in the state asked for) are settled here, and a
 * request with nothing left to wait for is answered. */
int request_settle(Manager *m, Request *q, unsigned index, int result)
{
        for (size_t i = 0; i < q->n; i++)
                if (q->indices[i] == index && q->results[i] == RESULT_PENDING) {
                        q->results[i] = result;
                        q->pending--;
                }
        return 0;
}

void request_answer_if_done(Manager *m, Request *q)
{
        if (q->pending > 0)
                return;
        for (Request **p = &m->requests; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        if ((q->on_done ? q->on_done(m, q) : request_reply(q)) < 0)
                log_warning("Failed to send the reply to a block request, ignoring");
        request_free(q);
}

/* Until the bus is up (early boot), signals would only pile up in sd-bus's write queue: one per
 * block. Nobody could have subscribed to them yet anyway. */
static bool bus_ready(Manager *m)
{
        return m->bus && sd_bus_is_ready(m->bus) > 0;
}

void bus_emit_block_state(Manager *m, unsigned index)
{
        const Block *b = &m->blocks[index];

        if (!bus_ready(m))
                return;
        (void)sd_bus_emit_signal(m->bus, BUS_PATH, BUS_IFACE_MANAGER, "BlockStateChanged", "uss", index,
                                 block_state_to_string(b->state), b->zone ? zone_to_string(b->zone) : "");
}

void bus_emit_job_finished(Manager *m, const Job *job)
{
        if (!bus_ready(m))
                return;
        (void)sd_bus_emit_signal(m->bus, BUS_PATH, BUS_IFACE_MANAGER, "JobFinished", "uuu", job->total,
                                 job->done, job->failed);
}

int bus_flush_dirty(Manager *m)
{
        static const struct {
                unsigned flag;
                const char *properties[6];
        } groups[] = {
                { DIRTY_TOTALS,
                  { "PresentBytes", "OnlineBytes", "OfflineBytes", "ZoneOnlineBytes", "NodeBytes" } },
                { DIRTY_JOB, { "JobProgress", "BlocksOnlined", "BlocksFailed" } },
                { DIRTY_CONFIG,
                  { "ConfigFiles", "LastConfigError", "OnlinePolicy", "KernelAutoOnlineMode" } },
                { DIRTY_KERNEL, { "KernelAutoOnline" } },
                { DIRTY_DEVICES, { "Devices" } },
        };

        if (!bus_ready(m) || m->dirty == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                if (!(m->dirty & groups[i].flag))
                        continue;
                (void)sd_bus_emit_properties_changed_strv(m->bus, BUS_PATH, BUS_IFACE_MANAGER,
                                                          (char **)groups[i].properties);
        }
        m->dirty = 0;
        return 0;
}

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
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        static const char *const paths[] = { BUS_PATH, BUS_BLOCK_PREFIX "/0",
                                             BUS_DEVICE_PREFIX "/dax0_2e0" };
        _cleanup_(config_freep) Config *config = NULL;
        Manager m = {};
        Block block = { .node = 0, .flags = BLOCK_KNOWN };
        DaxDevice dax = { .name = (char *)"dax0.0", .target_node = -1 };
        Device device = { .dax = &dax };
        int fds[2], r;
        sd_id128_t id;

        config = calloc(1, sizeof(Config));
        if (!config)
                return -ENOMEM;
        config_init_defaults(config);
        m.config = config;
        m.blocks = &block;
        m.n_blocks = 1;
        m.devices = &device;
        m.n_devices = 1;

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
                                (void)sd_bus_wait(client, 10000);
                }
        }
        fprintf(f, "</node>\n");
        return fflush(f) == 0 ? 0 : negative_errno();
}

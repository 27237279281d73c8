/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-internal.h"
#include "bus.h"
#include "dax.h"
#include "log.h"
#include "outcome.h"

/* The connection to the system bus and the objects on it. */

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
        return bus_flush(userdata);
}

/* The bus layer only asks the core; it checks what it is given first. What the core has to tell,
 * it hears as the outcome module's subscriber. */

static void on_block_outcome(void *userdata, const Outcome *o)
{
        Bus *b = userdata;

        switch (o->kind) {
        case OUTCOME_STATE_CHANGED:
                bus_queue_block_state(b, o->index);
                break;
        case OUTCOME_REMOVED:
                bus_emit_block_removed(b, o->index);
                break;
        case OUTCOME_HANDLED:
                if (o->offline_reason)
                        bus_emit_offline_progress(b, o->index, o->result, o->offline_reason);
                bus_block_done(b, o->index, o->result);
                break;
        case OUTCOME_WITHDRAWN:
                bus_block_done(b, o->index, o->result);
                break;
        }
}

static void on_job_finished(void *userdata, const Job *job)
{
        bus_emit_job_finished(userdata, job);
}

static void on_capacity_changed(void *userdata, const Capacity *c)
{
        bus_emit_capacity_changed(userdata, c);
}

/* At exit, while the connection is still up (sd-bus closes it in its own exit source): the block
 * states queued go out, and every call still waiting for its blocks is answered with ShuttingDown
 * (request_abort_all() does both). */
static void on_stopping(void *userdata)
{
        request_abort_all(userdata);
}

/* Properties changed: they are announced once the loop iteration's work is done. */
static void on_changed(void *userdata)
{
        Bus *b = userdata;

        (void)sd_event_source_set_enabled(b->emit_source, SD_EVENT_ONESHOT);
}

static void on_device_changed(void *userdata, const char *name)
{
        bus_emit_device_changed(userdata, name);
}

static const OutcomeSubscriber bus_subscriber = {
        .block = on_block_outcome,
        .job_finished = on_job_finished,
        .stopping = on_stopping,
        .changed = on_changed,
        .capacity_changed = on_capacity_changed,
        .device_changed = on_device_changed,
};

DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

int bus_setup(Manager *m, Bus **ret)
{
        _cleanup_(bus_freep) Bus *b = NULL;
        const char *address;
        int r;

        assert(m);
        assert(ret);

        b = calloc(1, sizeof(Bus));
        if (!b)
                return -ENOMEM;
        b->manager = m;

        r = sd_bus_error_add_map(bus_error_map);
        if (r < 0)
                return r;
        r = sd_bus_new(&b->conn);
        if (r < 0)
                return r;
        address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        r = sd_bus_set_address(b->conn, address ?: "unix:path=/run/dbus/system_bus_socket");
        if (r < 0)
                return r;
        (void)sd_bus_set_description(b->conn, "system-bus");
        r = sd_bus_set_bus_client(b->conn, true);
        if (r < 0)
                return r;
        /* The system bus may not be up yet at early boot: wait for its socket instead of failing. */
        r = sd_bus_set_watch_bind(b->conn, true);
        if (r < 0)
                return r;
        r = sd_bus_set_connected_signal(b->conn, true);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_creds(b->conn, true, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID);
        if (r < 0)
                return r;

        r = bus_objects_new(m, &b->objects);
        if (r < 0)
                return r;
        r = bus_add_objects(m, b->conn);
        if (r < 0)
                return r;
        r = bus_budget_new(m, b->conn, &b->budget);
        if (r < 0)
                return r;
        r = sd_bus_start(b->conn);
        if (r < 0)
                return r;
        /* Queued until the connection is up. */
        r = sd_bus_request_name_async(b->conn, NULL, BUS_NAME, 0, on_name_acquired, m);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(b->conn, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        /* Change signals go out once per loop iteration, after the work that caused them. */
        r = sd_event_add_defer(m->event, &b->emit_source, on_emit, b);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(b->emit_source, "bus-emit");
        (void)sd_event_source_set_priority(b->emit_source, SD_EVENT_PRIORITY_IDLE);
        (void)sd_event_source_set_enabled(b->emit_source,
                                          outcome_dirty(m) ? SD_EVENT_ONESHOT : SD_EVENT_OFF);

        /* Last: until the connection is set up, there is nobody to tell. */
        r = outcome_subscribe(m, &bus_subscriber, b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

Bus *bus_free(Bus *b)
{
        if (!b)
                return NULL;
        outcome_unsubscribe(b->manager, &bus_subscriber);
        request_abort_all(b);
        bus_objects_free(b->objects);
        /* Before the connection: the budget's filter does not hold a reference to it. */
        bus_budget_free(b->budget);
        sd_event_source_disable_unref(b->emit_source);
        sd_bus_flush_close_unref(b->conn);
        free(b->states);
        free(b);
        return NULL;
}

int bus_add_objects(Manager *m, sd_bus *bus)
{
        int r;

        assert(m);
        assert(bus);

        r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_IFACE_MANAGER, bus_manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_BLOCK_PREFIX, BUS_IFACE_BLOCK, bus_block_vtable,
                                       bus_block_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, BUS_BLOCK_PREFIX, bus_block_enumerate, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_DEVICE_PREFIX, BUS_IFACE_DEVICE, bus_device_vtable,
                                       bus_device_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, BUS_DEVICE_PREFIX, bus_device_enumerate, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(bus, NULL, BUS_LOG_CONTROL_PATH, BUS_IFACE_LOG_CONTROL,
                                     bus_log_control_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(bus, NULL, BUS_PATH);
        if (r < 0)
                return r;
        /* Runs before the object manager and the vtables of BUS_PATH: GetManagedObjects is ours. */
        return sd_bus_add_object(bus, NULL, BUS_PATH, bus_get_managed_objects, m);
}

int bus_reply_rows(sd_bus_message *call, const char *row_signature, bus_append_rows_fn append,
                   void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        assert(call);
        assert(row_signature);

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', row_signature);
        if (r < 0)
                return r;
        r = append(reply, userdata);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "bus.h"
#include "macro.h"
#include "strv.h"

/* GetManagedObjects on /org/memhotplug1, answered here before sd-bus's object manager sees the
 * call. sd-bus's answer costs, per object, a lookup of its path through every prefix for fallback
 * vtables and the three standard interfaces (Peer, Introspectable, Properties) with empty property
 * dicts: 418 bytes a block, 6.9 MB at 16384 blocks. Here the reply is built straight from the block
 * table, with each object's own interface only (as GDBus's object manager answers) and without the
 * properties marked SD_BUS_VTABLE_PROPERTY_EXPLICIT, as sd-bus would leave them out of GetAll. The
 * property values come from the same getters as Get and GetAll. */

/* One {o: {interface: {property: value}}} entry. */
static int append_object(sd_bus *bus, sd_bus_message *reply, const char *path, const char *interface,
                         const sd_bus_vtable *vtable, void *userdata, sd_bus_error *error)
{
        int r;

        r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "o", path);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", interface);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        /* Our own vtables, built with this sd-bus.h: v++ steps over entries of the size we built. */
        for (const sd_bus_vtable *v = vtable + 1; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_PROPERTY ||
                    (v->flags & (SD_BUS_VTABLE_HIDDEN | SD_BUS_VTABLE_PROPERTY_EXPLICIT)))
                        continue;
                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "s", v->x.property.member);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(reply, 'v', v->x.property.signature);
                if (r < 0)
                        return r;
                r = v->x.property.get(bus, path, interface, v->x.property.member, reply, userdata, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < 4; i++) {
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* GetManagedObjects is built a slice of blocks per event loop iteration, at idle priority: between
 * slices the loop handles uevents, the onliner's chunks and other bus calls (a root call waits for one
 * slice, not for every reader's whole reply). One reply is built at a time; the next call is taken
 * from another sender than the last one served when there is one, so a client that floods does not
 * keep the others waiting. */
#define SLICE_BLOCKS 1024

typedef struct ObjectsCall {
        sd_bus_message *call;
        struct ObjectsCall *next;
} ObjectsCall;

struct BusObjects {
        Manager *manager;
        sd_event_source *source;
        ObjectsCall *calls;           /* waiting, oldest first */
        sd_bus_message *call, *reply; /* the one being built */
        size_t next_block;
        char *last_sender;
};

static ObjectsCall *objects_call_free(ObjectsCall *c)
{
        ObjectsCall *next = c->next;

        sd_bus_message_unref(c->call);
        free(c);
        return next;
}

BusObjects *bus_objects_free(BusObjects *o)
{
        if (!o)
                return NULL;
        sd_event_source_disable_unref(o->source);
        while (o->calls)
                o->calls = objects_call_free(o->calls);
        sd_bus_message_unref(o->call);
        sd_bus_message_unref(o->reply);
        free(o->last_sender);
        free(o);
        return NULL;
}

/* The oldest call from another sender than the last one served, or the oldest. */
static sd_bus_message *objects_next_call(BusObjects *o)
{
        ObjectsCall **pick = &o->calls, *c;
        sd_bus_message *call;

        for (ObjectsCall **p = &o->calls; *p; p = &(*p)->next)
                if (!o->last_sender || !streq_ptr(sd_bus_message_get_sender((*p)->call), o->last_sender)) {
                        pick = p;
                        break;
                }
        c = *pick;
        call = TAKE_PTR(c->call);
        *pick = objects_call_free(c);
        free(o->last_sender);
        o->last_sender = strdup(sd_bus_message_get_sender(call) ?: "");
        return call;
}

/* Appends up to SLICE_BLOCKS blocks; returns 1 when the blocks are done. */
static int append_block_slice(BusObjects *o, sd_bus *bus, sd_bus_error *error)
{
        Manager *m = o->manager;
        char path[sizeof(BUS_BLOCK_PREFIX) + 24];
        size_t end = o->next_block + SLICE_BLOCKS;
        int r;

        /* The table may have grown or shrunk since the last slice: indices are read as they are now. */
        for (; o->next_block < m->n_blocks && o->next_block < end; o->next_block++) {
                size_t i = o->next_block;

                if (!block_known(&m->blocks[i]))
                        continue;
                snprintf(path, sizeof(path), BUS_BLOCK_PREFIX "/%zu", i);
                r = append_object(bus, o->reply, path, BUS_IFACE_BLOCK, bus_block_vtable, m, error);
                if (r < 0)
                        return r;
        }
        return o->next_block >= m->n_blocks;
}

static int append_devices(BusObjects *o, sd_bus *bus, sd_bus_error *error)
{
        _cleanup_(strv_freep) char **devices = NULL;
        int r;

        r = bus_device_enumerate(bus, BUS_DEVICE_PREFIX, o->manager, &devices, error);
        if (r < 0)
                return r;
        for (char **p = devices; *p; p++) {
                r = append_object(bus, o->reply, *p, BUS_IFACE_DEVICE, bus_device_vtable, o->manager, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The reply (or an error) is on its way: the sender may be asked whether it read it. */
static void objects_call_done(BusObjects *o)
{
        bus_budget_undefer(o->manager->bus->budget, o->call);
        o->reply = sd_bus_message_unref(o->reply);
        o->call = sd_bus_message_unref(o->call);
}

/* One slice of the reply being built; starts the next call's when there is none. */
static int objects_step(BusObjects *o, sd_bus_error *error)
{
        sd_bus *bus;
        int r;

        if (!o->call) {
                o->call = objects_next_call(o);
                o->next_block = 0;
                r = sd_bus_message_new_method_return(o->call, &o->reply);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(o->reply, 'a', "{oa{sa{sv}}}");
                if (r < 0)
                        return r;
        }
        bus = sd_bus_message_get_bus(o->call);
        r = append_block_slice(o, bus, error);
        if (r <= 0)
                return r;
        r = append_devices(o, bus, error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(o->reply);
        if (r < 0)
                return r;
        r = sd_bus_send(NULL, o->reply, NULL);
        if (r < 0)
                return r;
        objects_call_done(o);
        return 0;
}

static int on_objects_step(sd_event_source *s, void *userdata)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        BusObjects *o = userdata;
        int r;

        r = objects_step(o, &error);
        if (r < 0) {
                /* This call fails; the others go on. */
                (void)sd_bus_reply_method_errno(o->call, r, &error);
                objects_call_done(o);
        }
        if (o->call || o->calls)
                (void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int bus_objects_new(Manager *m, BusObjects **ret)
{
        _cleanup_(bus_objects_freep) BusObjects *o = NULL;
        int r;

        assert(m);
        assert(ret);

        o = calloc(1, sizeof(BusObjects));
        if (!o)
                return -ENOMEM;
        o->manager = m;
        r = sd_event_add_defer(m->event, &o->source, on_objects_step, o);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(o->source, "bus-managed-objects");
        (void)sd_event_source_set_priority(o->source, SD_EVENT_PRIORITY_IDLE);
        (void)sd_event_source_set_enabled(o->source, SD_EVENT_OFF);
        *ret = TAKE_PTR(o);
        return 0;
}

int bus_get_managed_objects(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Bus *b;
        BusObjects *o;
        ObjectsCall *c, **tail;

        assert(message);
        assert(userdata);
        assert(error);

        b = ((Manager *)userdata)->bus;
        o = b ? b->objects : NULL; /* none for --bus-introspect */

        /* Everything else on the path (and a call with arguments, which sd-bus refuses) goes on to
         * sd-bus's vtables. */
        if (!sd_bus_message_is_method_call(message, "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects") ||
            !sd_bus_message_has_signature(message, "") || !o)
                return 0;

        c = calloc(1, sizeof(ObjectsCall));
        if (!c)
                return -ENOMEM;
        c->call = sd_bus_message_ref(message);
        for (tail = &o->calls; *tail; tail = &(*tail)->next)
                ;
        *tail = c;
        bus_budget_defer(b->budget, message);
        (void)sd_event_source_set_enabled(o->source, SD_EVENT_ONESHOT);
        return 1; /* answered later, a slice at a time */
}

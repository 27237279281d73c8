/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "log.h"
#include "macro.h"
#include "time-constants.h"

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

/* Back-pressure on replies. dbus-daemon charges every message it read from us to our connection
 * until the recipient has read it; a client that calls and never reads keeps our replies there, and
 * once they pass dbus-daemon's max_incoming_bytes (127 MiB on Debian) it stops reading from us: every
 * later reply, root's too, waits in our own write queue, which then grows with each call.
 *
 * So each call is charged to its sender, by an upper bound of its reply's size, until the sender is
 * known to have read the reply: the daemon sends it a Peer.Ping after the reply (every D-Bus library
 * answers Ping by itself) and, as messages to one recipient are delivered in order, its answer (or
 * dbus-daemon's error when it is gone) says that everything sent before it was read. A call that
 * would take its sender past BUDGET_SENDER_BYTES or BUDGET_SENDER_CALLS, or the unprivileged senders
 * together past BUDGET_TOTAL_BYTES or BUDGET_TOTAL_CALLS, is answered with a short LimitsExceeded
 * error instead of its reply. A sender with nothing in flight may always make one call, however large
 * its reply. */

#define BUDGET_CALL_BYTES   (4u * 1024) /* every call: more than any reply that lists no blocks */
#define BUDGET_BLOCK_BYTES  512u        /* and per block, for the calls whose reply lists them */
#define BUDGET_SENDER_BYTES (UINT64_C(16) << 20)
#define BUDGET_TOTAL_BYTES  (UINT64_C(48) << 20) /* all unprivileged senders, with room under 127 MiB */
/* Calls, whatever their size: a root call waits behind every call read before it, so the work ahead
 * of it is bounded too. A client waiting for its replies has a handful in flight. */
#define BUDGET_SENDER_CALLS 64u
#define BUDGET_TOTAL_CALLS  512u
/* A refusal is a message too, held in dbus-daemon until read: a connection that is refused this many
 * more times unread gets no answer at all (dbus-daemon then refuses it by itself, past 128 calls
 * awaiting a reply). */
#define BUDGET_REFUSALS      64u
#define BUDGET_REFUSAL_BYTES 512u
#define BUDGET_SENDERS_MAX   1024u /* connections tracked at once (dbus-daemon: 256 a user) */
#define BUDGET_WQUEUE_MAX    1024u /* our own write queue: dbus-daemon is not reading us */

/* Bytes (an upper bound of the replies' size) and calls. */
typedef struct Charge {
        uint64_t bytes, calls;
} Charge;

typedef struct Sender {
        BusBudget *budget;
        char *name;
        bool privileged;   /* root: not counted in the total */
        Charge charged;    /* since it was first seen */
        Charge acked;      /* of them, known to be read */
        Charge mark;       /* charged when the ping in flight was sent */
        unsigned deferred; /* replies still being built (GetManagedObjects): no ping before them */
        sd_bus_slot *ping;
} Sender;

struct BusBudget {
        Manager *manager;
        sd_bus *bus; /* not a reference: the budget goes before the bus */
        sd_bus_slot *filter;
        sd_event_source *ping_source;
        Sender **senders;
        size_t n_senders;
        Charge unprivileged; /* in flight, all unprivileged senders */
        bool ping_denied_logged;
};

static Charge in_flight(const Sender *s)
{
        return (Charge){ s->charged.bytes - s->acked.bytes, s->charged.calls - s->acked.calls };
}

static bool nothing_in_flight(const Sender *s)
{
        return s->charged.calls == s->acked.calls;
}

static Sender *sender_free(Sender *s)
{
        if (!s)
                return NULL;
        sd_bus_slot_unref(s->ping);
        free(s->name);
        free(s);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Sender *, sender_free);

static Sender *sender_find(BusBudget *b, const char *name, size_t *ret_index)
{
        for (size_t i = 0; i < b->n_senders; i++)
                if (streq(b->senders[i]->name, name)) {
                        if (ret_index)
                                *ret_index = i;
                        return b->senders[i];
                }
        return NULL;
}

/* Forgets a sender with nothing in flight and nothing pending. */
static void sender_maybe_drop(BusBudget *b, Sender *s)
{
        size_t i;

        if (!nothing_in_flight(s) || s->deferred > 0 || s->ping || !sender_find(b, s->name, &i))
                return;
        b->senders[i] = b->senders[--b->n_senders];
        sender_free(s);
}

static void acknowledge(BusBudget *b, Sender *s, Charge upto)
{
        if (!s->privileged) {
                b->unprivileged.bytes -= MIN(upto.bytes - s->acked.bytes, b->unprivileged.bytes);
                b->unprivileged.calls -= MIN(upto.calls - s->acked.calls, b->unprivileged.calls);
        }
        s->acked = upto;
}

static void schedule_pings(BusBudget *b)
{
        (void)sd_event_source_set_enabled(b->ping_source, SD_EVENT_ONESHOT);
}

static int on_ping_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Sender *s = userdata;
        BusBudget *b = s->budget;

        s->ping = sd_bus_slot_unref(s->ping);
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT)) {
                /* Not read in BUDGET_PING_USEC: the charge stays, and so does our ping in its queue. */
                schedule_pings(b);
                return 0;
        }
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) && !b->ping_denied_logged) {
                /* A bus policy without our rule for Ping: the bound is per call then, not per sender. */
                log_warning("The bus policy does not let %s ping its clients (%s); replies are not "
                            "held back for clients that do not read them",
                            BUS_NAME, e->message);
                b->ping_denied_logged = true;
        }
        /* An answer, or dbus-daemon's word that the sender is gone: what came before was read or
         * dropped. */
        acknowledge(b, s, s->mark);
        if (!nothing_in_flight(s))
                schedule_pings(b);
        else
                sender_maybe_drop(b, s);
        return 0;
}

static int sender_ping(BusBudget *b, Sender *s)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *ping = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &ping, s->name, "/", "org.freedesktop.DBus.Peer", "Ping");
        if (r < 0)
                return r;
        r = sd_bus_call_async(b->bus, &s->ping, ping, on_ping_reply, s, BUDGET_PING_USEC);
        if (r < 0)
                return r;
        s->mark = s->charged;
        return 0;
}

/* After the replies of this loop iteration are queued (idle priority: after the bus's own
 * dispatch), a ping to every sender whose replies are all sent and not yet known to be read. */
static int on_ping_step(sd_event_source *source, void *userdata)
{
        BusBudget *b = userdata;

        for (size_t i = 0; i < b->n_senders; i++) {
                Sender *s = b->senders[i];

                if (s->ping || s->deferred > 0 || nothing_in_flight(s))
                        continue;
                if (sender_ping(b, s) < 0)
                        /* Out of memory, say: the charge stays and the next call's step asks again. */
                        continue;
        }
        return 0;
}

static bool is_privileged(sd_bus_message *m)
{
        uid_t uid;

        return bus_sender_uid(m, &uid) >= 0 && uid == 0;
}

static int sender_add(BusBudget *b, sd_bus_message *m, const char *name, Sender **ret)
{
        _cleanup_(sender_freep) Sender *s = NULL;
        Sender **a;

        if (b->n_senders >= BUDGET_SENDERS_MAX)
                return -ENOBUFS;
        s = calloc(1, sizeof(Sender));
        if (!s)
                return -ENOMEM;
        s->budget = b;
        s->name = strdup(name);
        if (!s->name)
                return -ENOMEM;
        s->privileged = is_privileged(m);
        a = reallocarray(b->senders, b->n_senders + 1, sizeof(Sender *));
        if (!a)
                return -ENOMEM;
        b->senders = a;
        b->senders[b->n_senders++] = s;
        *ret = TAKE_PTR(s);
        return 0;
}

/* An upper bound of the reply's size. */
static uint64_t call_cost(BusBudget *b, sd_bus_message *m)
{
        const char *member = sd_bus_message_get_member(m), *path = sd_bus_message_get_path(m);
        bool lists_blocks = streq_ptr(member, "GetManagedObjects") || streq_ptr(member, "ListBlocks") ||
                            streq_ptr(member, "Plan") ||
                            (streq_ptr(member, "Introspect") && streq_ptr(path, BUS_BLOCK_PREFIX));

        uint64_t n = 0;

        /* The table grows by doubling: count the blocks, as the reply will (no more work than it). */
        if (lists_blocks)
                for (size_t i = 0; i < b->manager->n_blocks; i++)
                        n += manager_block_present(b->manager, i);
        return BUDGET_CALL_BYTES + n * BUDGET_BLOCK_BYTES;
}

static int refuse(BusBudget *b, Sender *s, sd_bus_message *m, const char *why)
{
        if (s) {
                if (in_flight(s).calls >= BUDGET_SENDER_CALLS + BUDGET_REFUSALS)
                        return 1; /* dropped */
                s->charged.bytes += BUDGET_REFUSAL_BYTES;
                s->charged.calls++;
                schedule_pings(b);
        }
        (void)sd_bus_reply_method_errorf(m, BUS_ERROR_LIMITS_EXCEEDED,
                                         "%s; read the replies already sent first", why);
        return 1; /* handled: no vtable sees it */
}

/* Runs before the object vtables for every message the daemon receives. */
static int on_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BusBudget *b = userdata;
        const char *name = sd_bus_message_get_sender(m);
        uint64_t queued = 0, cost;
        Charge flight;
        Sender *s;
        int r;

        if (!sd_bus_message_is_method_call(m, NULL, NULL) || !name || name[0] != ':')
                return 0;
        s = sender_find(b, name, NULL);
        if (!s) {
                r = sender_add(b, m, name, &s);
                if (r == -ENOBUFS && !is_privileged(m))
                        return refuse(b, NULL, m, "Too many clients with replies in flight");
                if (r < 0)
                        return 0; /* root past the table, or out of memory: answered unaccounted */
        }
        cost = call_cost(b, m);
        flight = in_flight(s);
        if (flight.calls > 0 &&
            (flight.bytes + cost > BUDGET_SENDER_BYTES || flight.calls + 1 > BUDGET_SENDER_CALLS))
                return refuse(b, s, m, "Too many unread replies to this connection");
        if (!s->privileged) {
                /* dbus-daemon has stopped reading us: no more for anyone but root. */
                if (sd_bus_get_n_queued_write(b->bus, &queued) >= 0 && queued > BUDGET_WQUEUE_MAX)
                        return refuse(b, s, m, "The daemon's replies are not being read");
                if (b->unprivileged.calls > 0 && (b->unprivileged.bytes + cost > BUDGET_TOTAL_BYTES ||
                                                  b->unprivileged.calls + 1 > BUDGET_TOTAL_CALLS))
                        return refuse(b, s, m, "Too many unread replies to unprivileged clients");
                b->unprivileged.bytes += cost;
                b->unprivileged.calls++;
        }
        s->charged.bytes += cost;
        s->charged.calls++;
        schedule_pings(b);
        return 0;
}

void bus_budget_defer(BusBudget *b, sd_bus_message *call)
{
        Sender *s;

        assert(call);

        s = b ? sender_find(b, strempty(sd_bus_message_get_sender(call)), NULL) : NULL;

        if (s)
                s->deferred++;
}

void bus_budget_undefer(BusBudget *b, sd_bus_message *call)
{
        Sender *s;

        assert(call);

        s = b ? sender_find(b, strempty(sd_bus_message_get_sender(call)), NULL) : NULL;

        if (!s || s->deferred == 0)
                return;
        s->deferred--;
        schedule_pings(b);
}

BusBudget *bus_budget_free(BusBudget *b)
{
        if (!b)
                return NULL;
        sd_bus_slot_unref(b->filter);
        sd_event_source_disable_unref(b->ping_source);
        for (size_t i = 0; i < b->n_senders; i++)
                sender_free(b->senders[i]);
        free(b->senders);
        free(b);
        return NULL;
}

int bus_budget_new(Manager *m, sd_bus *bus, BusBudget **ret)
{
        _cleanup_(bus_budget_freep) BusBudget *b = NULL;
        int r;

        assert(m);
        assert(bus);
        assert(ret);

        b = calloc(1, sizeof(BusBudget));
        if (!b)
                return -ENOMEM;
        b->manager = m;
        b->bus = bus;
        r = sd_event_add_defer(m->event, &b->ping_source, on_ping_step, b);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(b->ping_source, "bus-budget-ping");
        (void)sd_event_source_set_priority(b->ping_source, SD_EVENT_PRIORITY_IDLE);
        (void)sd_event_source_set_enabled(b->ping_source, SD_EVENT_OFF);
        r = sd_bus_add_filter(bus, &b->filter, on_filter, b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/socket.h>

#include "bus-internal.h"
#include "tap.h"

/* BlockStatesChanged, over a socket pair: the bus's end is a real sd-bus connection (with the object
 * manager that InterfacesRemoved needs, as bus_add_objects() adds), the other end reads what it
 * sends. A batch holds the rows in the order the states changed, at most 4096 to a signal, and goes
 * out before the signals that follow it; nothing is queued before the connection is up. */

#define N_BLOCKS 5000u

typedef struct Received {
        char member[32];
        size_t n_rows;
        unsigned first, last; /* block of the first and the last row */
        bool in_order;        /* each row's block one past the one before */
        bool all_online;      /* every row (N, online, Movable) */
        char rows[4][32];     /* the first rows, as "N state zone" */
} Received;

static sd_bus *server, *client;
static Received received[16];
static size_t n_received;

static int on_nothing(sd_event_source *s, void *userdata)
{
        return 0;
}

static void read_signal(sd_bus_message *msg)
{
        Received *r = &received[n_received++];
        const char *state, *zone;
        unsigned index;

        *r = (Received){};
        snprintf(r->member, sizeof(r->member), "%s", sd_bus_message_get_member(msg));
        if (!streq(r->member, "BlockStatesChanged"))
                return;
        r->in_order = r->all_online = true;
        if (sd_bus_message_enter_container(msg, 'a', BUS_ROW_BLOCK_STATE) < 0)
                return;
        while (sd_bus_message_read(msg, BUS_ROW_BLOCK_STATE, &index, &state, &zone) > 0) {
                if (r->n_rows < ELEMENTSOF(r->rows))
                        snprintf(r->rows[r->n_rows], sizeof(r->rows[0]), "%u %s %s", index, state, zone);
                if (r->n_rows == 0)
                        r->first = index;
                else if (index != r->last + 1)
                        r->in_order = false;
                r->all_online = r->all_online && streq(state, "online") && streq(zone, "Movable");
                r->last = index;
                r->n_rows++;
        }
}

/* Both ends live in this thread: turn the crank until neither has anything left to do. */
static void pump(void)
{
        for (int idle = 0; idle < 3;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
                int a = sd_bus_process(server, NULL), b = sd_bus_process(client, &msg);

                if (msg && sd_bus_message_is_signal(msg, NULL, NULL) > 0 &&
                    n_received < ELEMENTSOF(received))
                        read_signal(msg);
                if (a > 0 || b > 0)
                        idle = 0;
                else {
                        idle++;
                        (void)sd_bus_wait(client, 1000);
                }
        }
}

static void set_state(Manager *m, unsigned index, BlockState state, Zone zone)
{
        m->blocks[index].state = state;
        m->blocks[index].zone = zone;
}

int main(void)
{
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        Manager m = {};
        Bus b = { .manager = &m };
        sd_id128_t id;
        int fds[2];

        m.blocks = calloc(N_BLOCKS, sizeof(Block));
        m.n_blocks = N_BLOCKS;
        if (!m.blocks || outcome_new(&m.outcomes) < 0 || sd_event_new(&event) < 0 ||
            sd_event_add_defer(event, &b.emit_source, on_nothing, NULL) < 0 ||
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_id128_randomize(&id) < 0 ||
            sd_bus_new(&server) < 0 || sd_bus_set_fd(server, fds[0], fds[0]) < 0 ||
            sd_bus_set_server(server, true, id) < 0 ||
            sd_bus_add_object_manager(server, NULL, BUS_PATH) < 0 || sd_bus_start(server) < 0 ||
            sd_bus_new(&client) < 0 || sd_bus_set_fd(client, fds[1], fds[1]) < 0 ||
            sd_bus_start(client) < 0) {
                tap_ok(false, "set up the socket pair");
                return tap_done();
        }
        (void)sd_event_source_set_enabled(b.emit_source, SD_EVENT_OFF);
        b.conn = server;
        for (unsigned i = 0; i < N_BLOCKS; i++)
                set_state(&m, i, BLOCK_ONLINE, ZONE_MOVABLE);

        /* Before the handshake the connection is not up: as the bus at early boot. */
        bus_queue_block_state(&b, 0);
        tap_is_int(b.n_states, 0, "nothing is queued while the connection is not up");
        pump();
        tap_ok(sd_bus_is_ready(server) > 0, "the connection is up");

        for (unsigned i = 0; i < N_BLOCKS; i++)
                bus_queue_block_state(&b, i);
        tap_is_int(b.n_states, N_BLOCKS - 4096, "a full batch went out by itself, the rest waits");
        tap_ok(b.n_states_allocated <= 4096, "the queue holds 4096 rows at most (%zu)",
               b.n_states_allocated);
        (void)bus_flush(&b);
        tap_is_int(b.n_states, 0, "the flush sends the rest");
        pump();
        tap_is_int(n_received, 2, "5000 states in two signals");
        tap_ok(n_received == 2 && received[0].n_rows == 4096 && received[1].n_rows == N_BLOCKS - 4096,
               "of 4096 and 904 rows");
        tap_ok(n_received == 2 && received[0].first == 0 && received[0].in_order &&
                       received[1].first == 4096 && received[1].in_order && received[1].last == N_BLOCKS - 1,
               "every block once, in the order queued");
        tap_ok(n_received == 2 && received[0].all_online && received[1].all_online,
               "each row is (N, online, Movable)");

        /* A block that changes twice has two rows, in order; the batch goes before JobFinished. */
        n_received = 0;
        bus_queue_block_state(&b, 7);
        set_state(&m, 7, BLOCK_OFFLINE, 0);
        bus_queue_block_state(&b, 7);
        bus_emit_job_finished(&b, &(Job){ .total = 1, .done = 1 });
        pump();
        tap_is_int(n_received, 2, "two signals");
        tap_is_str(received[0].member, "BlockStatesChanged", "the block states first");
        tap_is_str(received[0].rows[0], "7 online Movable", "the state the block had first");
        tap_is_str(received[0].rows[1], "7 offline ", "then its last");
        tap_is_str(received[1].member, "JobFinished", "then JobFinished");

        /* And before OfflineProgress and InterfacesRemoved. */
        n_received = 0;
        bus_queue_block_state(&b, 8);
        bus_emit_offline_progress(&b, 8, 0, "offlined");
        bus_queue_block_state(&b, 9);
        bus_emit_block_removed(&b, 9);
        pump();
        tap_is_int(n_received, 4, "four signals");
        tap_ok(n_received == 4 && streq(received[0].member, "BlockStatesChanged") &&
                       streq(received[1].member, "OfflineProgress") &&
                       streq(received[2].member, "BlockStatesChanged") &&
                       streq(received[3].member, "InterfacesRemoved"),
               "each after the block states queued before it");

        b.emit_source = sd_event_source_unref(b.emit_source);
        free(b.states);
        sd_bus_flush_close_unref(client);
        sd_bus_flush_close_unref(server);
        outcome_free(m.outcomes);
        free(m.blocks);
        return tap_done();
}

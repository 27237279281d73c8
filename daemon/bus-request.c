/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-internal.h"
#include "bus.h"
#include "log.h"
#include "onliner.h"

/* Calls that wait for their blocks (OnlineBlocks, OfflineBlocks, RevertDevice): each holds its
 * message until every block it names is done, then gets one reply with a row per block. */

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

static int append_results(sd_bus_message *reply, void *userdata)
{
        Request *q = userdata;
        char reason[ONLINER_REASON_MAX];
        int r;

        for (size_t i = 0; i < q->n; i++) {
                int e = q->results[i];

                if (e < 0 && q->offline)
                        (void)onliner_result_reason(q->manager, q->indices[i], e, reason, sizeof(reason));
                r = sd_bus_message_append(reply, BUS_ROW_RESULT, q->indices[i], e >= 0,
                                          e == 0 && q->whole_device
                                                  ? "offlined and removed with the device's state write "
                                                    "(unplugged); the device stays bound to kmem"
                                          : e == RESULT_ALREADY ? "already in that state"
                                          : e < 0 && q->offline ? reason
                                          : e == -EDOM          ? "valid_zones does not offer that zone"
                                          : e == -ENODEV        ? "removed"
                                          : e == -ECANCELED     ? "cancelled by a later request"
                                          : e < 0               ? strerror(-e)
                                                                : "");
                if (r < 0)
                        return r;
        }
        return 0;
}

int request_failures(Request *q, char **ret, size_t *ret_n)
{
        _cleanup_(freep) char *text = NULL;
        char reason[ONLINER_REASON_MAX];
        size_t n = 0;

        assert(q);
        assert(ret);
        assert(ret_n);

        /* Highest block first: the order they were offlined in. */
        for (size_t i = q->n; i > 0; i--) {
                int e = q->results[i - 1];
                char *t;

                if (e >= 0)
                        continue;
                if (asprintf(&t, "%s%smemory%u: %s", strempty(text), text ? "; " : "", q->indices[i - 1],
                             onliner_result_reason(q->manager, q->indices[i - 1], e, reason,
                                                   sizeof(reason))) < 0)
                        return -ENOMEM;
                free(text);
                text = t;
                n++;
        }
        *ret = TAKE_PTR(text);
        *ret_n = n;
        return 0;
}

int request_reply(Request *q)
{
        assert(q);

        return bus_reply_rows(q->message, BUS_ROW_RESULT, append_results, q);
}

/* The daemon stops before the request is answered in full: our own error (not dbus-daemon's
 * NoReply, which a caller cannot tell from a crash), saying how many blocks are not done (not
 * started, or a write whose end the exit did not see) and why the others failed. */
static int reply_shutting_down(Request *q)
{
        _cleanup_(freep) char *failures = NULL;
        size_t pending = 0, n_failed = 0;

        for (size_t i = 0; i < q->n; i++)
                pending += q->results[i] == RESULT_PENDING;
        if (request_failures(q, &failures, &n_failed) < 0)
                failures = NULL;
        return sd_bus_reply_method_errorf(q->message, BUS_ERROR_SHUTTING_DOWN,
                                          "The daemon is stopping: %zu of %zu block(s) not done%s%s",
                                          pending, q->n, failures ? "; " : "", strempty(failures));
}

/* Sends the answer of a request whose blocks are all done, and frees it. */
static void request_send(Bus *b, Request *q)
{
        bool stopped = false;
        int r;

        /* The caller sees its blocks' new states before the reply. */
        bus_flush_block_states(b);
        for (size_t i = 0; i < q->n; i++)
                stopped = stopped || q->results[i] == -ESHUTDOWN;
        if (stopped)
                r = reply_shutting_down(q);
        else
                r = q->on_done ? q->on_done(b->manager, q) : request_reply(q);
        if (r < 0)
                log_warning_errno(r, "Failed to send the reply to a block request, ignoring: %m");
        request_free(q);
}

/* Cancels the blocks not started yet of a request that asked to stop at its first failure. The
 * cancellations come back through bus_block_done(), which may answer and free the request: so its
 * pending blocks are copied first, and this runs after bus_block_done() is done with the list. */
static void request_stop_pending(Bus *b)
{
        for (;;) {
                _cleanup_(freep) unsigned *pending = NULL;
                Request *q;
                size_t n = 0;

                for (q = b->requests; q && !q->stopping; q = q->next)
                        ;
                if (!q)
                        return;
                q->stopping = false;
                pending = malloc(q->n * sizeof(unsigned));
                if (!pending)
                        return;
                for (size_t i = 0; i < q->n; i++)
                        if (q->results[i] == RESULT_PENDING)
                                pending[n++] = q->indices[i];
                for (size_t i = 0; i < n; i++)
                        (void)onliner_cancel_queued_offline(b->manager, pending[i]);
        }
}

void bus_block_done(Bus *b, unsigned index, int error)
{
        assert(b);

        for (Request **p = &b->requests; *p;) {
                Request *q = *p;

                for (size_t i = 0; i < q->n; i++)
                        if (q->indices[i] == index && q->results[i] == RESULT_PENDING) {
                                q->results[i] = error;
                                q->pending--;
                                if (q->stop_on_failure && error < 0 && error != -ECANCELED)
                                        q->stopping = true;
                        }
                if (q->pending > 0) {
                        p = &q->next;
                        continue;
                }
                *p = q->next;
                request_send(b, q);
        }
        request_stop_pending(b);
}

int request_new(Manager *m, sd_bus_message *message, const unsigned *indices, size_t n, Request **ret)
{
        Request *q;

        assert(m);
        assert(message);
        assert(indices || n == 0);
        assert(ret);

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
        q->manager = m;
        q->message = sd_bus_message_ref(message);
        q->next = m->bus->requests;
        m->bus->requests = q;
        *ret = q;
        return 0;
}

/* Results known at once (a block already in the state asked for) are settled here, and a
 * request with nothing left to wait for is answered. */
int request_settle(Manager *m, Request *q, unsigned index, int result)
{
        assert(m);
        assert(q);

        for (size_t i = 0; i < q->n; i++)
                if (q->indices[i] == index && q->results[i] == RESULT_PENDING) {
                        q->results[i] = result;
                        q->pending--;
                }
        return 0;
}

void request_answer_if_done(Manager *m, Request *q)
{
        assert(m);
        assert(q);

        if (q->pending > 0)
                return;
        for (Request **p = &m->bus->requests; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        request_send(m->bus, q);
}

void request_abort_all(Bus *b)
{
        assert(b);

        bus_flush_block_states(b);
        while (b->requests) {
                Request *q = b->requests;

                b->requests = q->next;
                (void)reply_shutting_down(q);
                request_free(q);
        }
}

void request_add_outcome(Manager *m, Request *q, unsigned index, int outcome)
{
        assert(m);
        assert(q);

        if (outcome == REQUEST_QUEUED)
                return; /* settled by bus_block_done() */
        request_settle(m, q, index, outcome == REQUEST_ALREADY ? RESULT_ALREADY : outcome);
}

int request_offline_blocks(Manager *m, Request *q)
{
        assert(m);
        assert(q);

        q->offline = true;
        for (size_t i = 0; i < q->n; i++)
                request_add_outcome(m, q, q->indices[i], onliner_request_offline(m, q->indices[i]));
        onliner_maybe_finish(m);
        return 0;
}

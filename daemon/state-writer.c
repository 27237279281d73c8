/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event-util.h"
#include "macro.h"
#include "state-writer.h"
#include "sysfs.h"
#include "time-constants.h"
#include "time-util.h"

/* Why a thread, and how it is stopped.
 *
 * The kernel's offline_pages() loops (migrate, drain, retry) until every page has left the block,
 * with no limit of its own; but it checks signal_pending() on every round and then gives up with
 * EINTR, undoing the isolation, so the block stays online. A signal is therefore the clean way to
 * stop a write that takes too long. A thread gets one with pthread_kill(): the handler does nothing
 * and is installed without SA_RESTART, so write() returns EINTR instead of starting over. A forked
 * helper killed with SIGKILL would work too, but costs a fork per block and hands the errno back
 * through an exit status; the thread shares the sysfs dirfd and reports through an eventfd.
 *
 * A signal sent before the thread is inside write() would be spent on the handler and the write
 * would then block: so the loop sends it again every INTERRUPT_REPEAT_USEC until the thread says it
 * is done. The thread has every other signal blocked: SIGTERM and the like stay with the loop's
 * signalfd. */

enum {
        INTERRUPT_NONE,
        INTERRUPT_TIMEOUT,
        INTERRUPT_CANCEL,
        INTERRUPT_STOP,
};

struct StateWriter {
        sd_event *event;
        int memory_dirfd;
        state_writer_done_t done;
        void *userdata;

        int efd; /* the thread's "done", read by the loop */
        sd_event_source *io_source;
        Timer *timer; /* the timeout, then the repeated interrupt */

        bool busy;
        pthread_t thread;
        unsigned index;
        int dirfd;     /* a device's directory (state_writer_start_at()), owned; else -EBADF */
        char path[64]; /* relative to dirfd */
        char value[32];
        int interrupt; /* INTERRUPT_*, set by the loop */
        int result;    /* written by the thread, read after pthread_join() */
};

/* Enough for snprintf() and a write(), with room for the sanitizers' frames. */
#define WRITER_STACK_SIZE (256 * 1024)

static int interrupt_signal(void)
{
        return SIGRTMIN;
}

static void on_interrupt_signal(int sig)
{
        /* Nothing: being delivered is the point (write() returns EINTR). */
}

static int install_handler(void)
{
        struct sigaction sa = { .sa_handler = on_interrupt_signal }; /* no SA_RESTART */

        sigemptyset(&sa.sa_mask);
        return sigaction(interrupt_signal(), &sa, NULL) < 0 ? negative_errno() : 0;
}

static void *thread_main(void *p)
{
        StateWriter *w = p;
        char path[48];
        sigset_t ss;
        uint64_t one = 1;

        sigemptyset(&ss);
        sigaddset(&ss, interrupt_signal());
        (void)pthread_sigmask(SIG_UNBLOCK, &ss, NULL);

        if (w->dirfd >= 0)
                w->result = sysfs_write_at(w->dirfd, w->path, w->value);
        else {
                snprintf(path, sizeof(path), "memory%u/state", w->index);
                w->result = sysfs_write_at(w->memory_dirfd, path, w->value);
        }
        /* An eventfd write only fails on overflow, which one write per thread cannot reach. */
        if (write(w->efd, &one, sizeof(one)) < 0)
                return NULL;
        return NULL;
}

/* What the loop's interruption means, as the errno the write ends in when the kernel honours it. */
static int interrupt_errno(int why)
{
        switch (why) {
        case INTERRUPT_TIMEOUT:
                return -ETIMEDOUT;
        case INTERRUPT_CANCEL:
                return -ECANCELED;
        case INTERRUPT_STOP:
                return -ESHUTDOWN;
        default:
                return 0;
        }
}

/* Joins the thread and hands its result to the callback. */
static void finish(StateWriter *w)
{
        uint64_t n;
        int result;

        (void)pthread_join(w->thread, NULL);
        w->busy = false;
        if (w->dirfd >= 0) {
                close(w->dirfd);
                w->dirfd = -EBADF;
        }
        timer_disarm(w->timer);

        result = w->result;
        /* EINTR is our own signal: the kernel gave up its retry and left the block as it was. */
        if (result == -EINTR && w->interrupt != INTERRUPT_NONE)
                result = interrupt_errno(w->interrupt);
        if (read(w->efd, &n, sizeof(n)) < 0)
                n = 0; /* already read: nothing to clear */
        w->done(w->userdata, w->index, result, interrupt_errno(w->interrupt));
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        StateWriter *w = userdata;

        if (w->busy)
                finish(w);
        return 0;
}

static void interrupt(StateWriter *w, int why)
{
        if (!w->busy)
                return;
        if (w->interrupt == INTERRUPT_NONE)
                w->interrupt = why;
        (void)pthread_kill(w->thread, interrupt_signal());
        (void)timer_arm_in(w->timer, INTERRUPT_REPEAT_USEC);
}

static int on_timer(Timer *t, uint64_t usec, void *userdata)
{
        interrupt(userdata, INTERRUPT_TIMEOUT);
        return 0;
}

int state_writer_new(sd_event *event, int memory_dirfd, state_writer_done_t done, void *userdata,
                     StateWriter **ret)
{
        _cleanup_(freep) StateWriter *w = NULL;
        int r;

        assert(event);
        assert(ret);

        r = install_handler();
        if (r < 0)
                return r;
        w = calloc(1, sizeof(StateWriter));
        if (!w)
                return -ENOMEM;
        *w = (StateWriter){
                .event = sd_event_ref(event),
                .memory_dirfd = memory_dirfd,
                .done = done,
                .userdata = userdata,
                .dirfd = -EBADF,
        };
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = sd_event_add_io(event, &w->io_source, w->efd, EPOLLIN, on_done, w);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_description(w->io_source, "state-writer-done");
        r = timer_new(event, "state-writer-timeout", SD_EVENT_PRIORITY_NORMAL, on_timer, w, &w->timer);
        if (r < 0)
                goto fail;
        *ret = TAKE_PTR(w);
        return 0;
fail:
        state_writer_free(TAKE_PTR(w));
        return r;
}

bool state_writer_stop(StateWriter *w, uint64_t timeout_usec)
{
        uint64_t deadline = now_usec() + timeout_usec;

        if (!w || !w->busy)
                return true;
        if (w->interrupt == INTERRUPT_NONE)
                w->interrupt = INTERRUPT_STOP;
        /* The loop is not running: send the signal again ourselves until the thread reports. */
        for (;;) {
                struct pollfd p = { .fd = w->efd, .events = POLLIN };
                uint64_t now = now_usec(), wait;

                if (now >= deadline)
                        return false;
                wait = deadline - now < INTERRUPT_REPEAT_USEC ? deadline - now : INTERRUPT_REPEAT_USEC;
                (void)pthread_kill(w->thread, interrupt_signal());
                if (poll(&p, 1, (int)(wait / USEC_PER_MSEC) + 1) > 0) {
                        finish(w);
                        return true;
                }
        }
}

StateWriter *state_writer_free(StateWriter *w)
{
        if (!w)
                return NULL;
        if (w->busy)
                /* A write that state_writer_stop() gave up on: its thread still uses w, and the process
                 * is about to exit, which ends the thread. Freeing w under it would be a
                 * use-after-free the moment the kernel returns. */
                return NULL;
        sd_event_source_disable_unref(w->io_source);
        timer_free(w->timer);
        if (w->efd >= 0)
                close(w->efd);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

bool state_writer_busy(const StateWriter *w)
{
        assert(w);

        return w->busy;
}

unsigned state_writer_index(const StateWriter *w)
{
        assert(w);

        return w->index;
}

static int start(StateWriter *w, unsigned index, int dirfd, const char *path, const char *value,
                 uint64_t timeout_usec)
{
        pthread_attr_t attr;
        sigset_t all, old;
        int r;

        if (w->busy)
                return -EBUSY;
        if (strlen(value) >= sizeof(w->value) || (path && strlen(path) >= sizeof(w->path)))
                return -EINVAL;
        w->index = index;
        w->dirfd = dirfd;
        snprintf(w->path, sizeof(w->path), "%s", path ?: "");
        strcpy(w->value, value);
        w->interrupt = INTERRUPT_NONE;
        w->result = 0;

        /* A small stack: the thread makes one write(). The default (RLIMIT_STACK, 8 MiB) would be
         * faulted in and locked whole under LockMemory= (MCL_FUTURE locks a mapping as it is made). */
        r = -pthread_attr_init(&attr);
        if (r < 0)
                return r;
        r = -pthread_attr_setstacksize(&attr, WRITER_STACK_SIZE);
        if (r < 0) {
                (void)pthread_attr_destroy(&attr);
                return r;
        }
        /* The thread starts with every signal blocked and unblocks only its own. */
        sigfillset(&all);
        (void)pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&w->thread, &attr, thread_main, w);
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        (void)pthread_attr_destroy(&attr);
        if (r < 0) {
                w->dirfd = -EBADF; /* still the caller's */
                return r;
        }
        w->busy = true;
        if (timeout_usec > 0)
                (void)timer_arm_in(w->timer, timeout_usec);
        return 0;
}

int state_writer_start(StateWriter *w, unsigned index, const char *value, uint64_t timeout_usec)
{
        assert(w);
        assert(value);

        return start(w, index, -EBADF, NULL, value, timeout_usec);
}

int state_writer_start_at(StateWriter *w, int dirfd, const char *path, const char *value,
                          uint64_t timeout_usec)
{
        assert(w);
        assert(dirfd >= 0);
        assert(path);
        assert(value);

        return start(w, UINT_MAX, dirfd, path, value, timeout_usec);
}

void state_writer_cancel(StateWriter *w)
{
        assert(w);

        interrupt(w, INTERRUPT_CANCEL);
}

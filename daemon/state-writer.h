/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* A write to a memory block's "state" (or a dax device's, state_writer_start_at()) that may block for a long
 * time (offlining migrates every page off the block, and the kernel retries for as long as it takes), done
 * on a thread of its own so that the event loop keeps running. One write at a time: the kernel serialises
 * them anyway.
 *
 * The write ends in its result, or is interrupted: after the timeout (-ETIMEDOUT), by
 * state_writer_cancel() (-ECANCELED) or by state_writer_stop() (-ESHUTDOWN). An interrupted write
 * leaves the block as it was (online). The kernel may still end a write that was being interrupted
 * with its own answer: done (0, the signal came too late) or an error of its own (EBUSY). */
typedef struct StateWriter StateWriter;

/* Called when the write is over: result 0, or a negative errno; interrupted is the errno an
 * interruption asked for (-ETIMEDOUT, -ECANCELED, -ESHUTDOWN), 0 if nobody interrupted it. */
typedef void (*state_writer_done_t)(void *userdata, unsigned index, int result, int interrupted);

int state_writer_new(sd_event *event, int memory_dirfd, state_writer_done_t done, void *userdata,
                     StateWriter **ret);
/* Must not be busy: a write that state_writer_stop() gave up on is left to the process's exit
 * (its thread still uses the writer), so w is then not freed. */
StateWriter *state_writer_free(StateWriter *w);

bool state_writer_busy(const StateWriter *w);
/* The block being written, if busy. */
unsigned state_writer_index(const StateWriter *w);
/* -EBUSY while a write is in flight. timeout_usec 0: no timeout. */
int state_writer_start(StateWriter *w, unsigned index, const char *value, uint64_t timeout_usec);
/* The same for another file: path relative to dirfd, which the writer takes on success (closed when
 * the write is over) and leaves to the caller on failure. Linux 7.3's daxX.Y/state: `unplugged`
 * offlines every block of the device in one write, and a signal interrupts it as it does a block's
 * offline (the kernel rolls the device back). The callback's index is UINT_MAX. */
int state_writer_start_at(StateWriter *w, int dirfd, const char *path, const char *value,
                          uint64_t timeout_usec);
/* Interrupts the write in flight (nothing if none); it ends in -ECANCELED unless it was done. */
void state_writer_cancel(StateWriter *w);
/* For the exit, with the event loop no longer running: interrupts the write in flight (-ESHUTDOWN,
 * unless it was already being interrupted) and waits at most timeout_usec for it. If it ends, the
 * callback is called from here. Returns whether no write is in flight any more. */
bool state_writer_stop(StateWriter *w, uint64_t timeout_usec);

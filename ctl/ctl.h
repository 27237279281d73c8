/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "bus-contract.h"

/* OnlineBlocks and OfflineBlocks answer when the blocks are done; onlining many gigabytes of
 * movable memory, or offlining memory that has to be migrated first, takes minutes. */
#define BLOCK_CALL_TIMEOUT_USEC (UINT64_C(10) * 60 * 1000000)

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

typedef enum ColorMode {
        COLOR_AUTO, /* on a terminal, unless $NO_COLOR or TERM=dumb */
        COLOR_ALWAYS,
        COLOR_NEVER,
} ColorMode;

/* Everything a command needs: the connection and the parsed command line. */
typedef struct Context {
        sd_bus *bus;
        JsonMode json;
        bool all;
        const char *output;      /* list --output */
        bool bytes;              /* list --bytes */
        const char *online_type; /* --zone */
        const unsigned *blocks;  /* online, offline */
        size_t n_blocks;
        const char *device; /* revert, unplug */
        const char *root;   /* doctor, map --root: NULL for the machine itself */
        ColorMode color;    /* map */
} Context;

/* Whether a list --output value names columns: -EINVAL after printing why. */
int list_check_columns(const char *spec);

/* Each returns 0, negative errno after printing why, or a positive exit status. */
int verb_status(Context *c);
int verb_list(Context *c);
int verb_plan(Context *c);
int verb_devices(Context *c);
int verb_online(Context *c);
int verb_offline(Context *c);
int verb_revert(Context *c);
int verb_unplug(Context *c);
int verb_cancel(Context *c);
int verb_reload(Context *c);
int verb_rescan(Context *c);
int verb_rezone(Context *c);
int verb_doctor(Context *c);
int verb_map(Context *c);
int verb_metrics(Context *c);

/* OnlineBlocks or OfflineBlocks for c->blocks (with c->online_type); prints the blocks that
 * failed and returns 1 if any did. */
int ctl_call_blocks(Context *c, const char *method, const char *what);

/* Prints a failed call for a person: the daemon's message and error name, or what went wrong
 * on our side. Returns r (negative). */
int log_bus_error(int r, const sd_bus_error *error, const char *what);

/* Reads GetAll's a{sv}: reader is called for each property, with the type of its variant, and
 * reads the variant or skips it (sd_bus_message_skip(m, "v")). */
typedef int (*BusPropertyReader)(sd_bus_message *m, const char *name, const char *contents, void *userdata);
int bus_read_properties(sd_bus_message *m, BusPropertyReader reader, void *userdata);

/* GetAll on the Manager interface, or Get of one property. */
int bus_get_manager_properties(Context *c, sd_bus_message **ret_reply);
int bus_get_manager_property(Context *c, const char *name, const char *type, sd_bus_message **ret_reply);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* A call to OnlineBlocks or OfflineBlocks, answered when all of its blocks are done. */
#define RESULT_PENDING          1
#define RESULT_ALREADY          2
#define RESULT_ZONE_NOT_ALLOWED (-EDOM)

struct Request {
        sd_bus_message *message;
        unsigned *indices;
        int *results; /* RESULT_PENDING, 0, RESULT_ALREADY or a negative errno */
        size_t n, pending;
        /* Called instead of the plain reply when all blocks are done (RevertDevice). */
        int (*on_done)(Manager *m, Request *q);
        char *device;
        Request *next;
};

/* Replies with the per-block results, a(ubs). */
int request_reply(Request *q);

int request_new(Manager *m, sd_bus_message *message, const unsigned *indices, size_t n, Request **ret);
int request_settle(Manager *m, Request *q, unsigned index, int result);
void request_answer_if_done(Manager *m, Request *q);

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_block_vtable[];
extern const sd_bus_vtable bus_device_vtable[];
int bus_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error);
int bus_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
int bus_method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_revert_device(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_check_root(sd_bus_message *message, const char *what, sd_bus_error *error);
int bus_block_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int bus_block_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

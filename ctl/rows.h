/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* The rows of a list method's reply (ListBlocks, Plan, ListDevices), and the ranges that list
 * and plan merge them into, as lsmem(1) does. */

/* Reads one row of signature into row; returns > 0 for a row, 0 at the end, or negative errno. */
typedef int (*row_read_fn)(sd_bus_message *m, const char *signature, void *row);

/* Reads "a<signature>" into an array of row_size-byte rows. Strings point into the message. */
int rows_read(sd_bus_message *m, const char *signature, size_t row_size, row_read_fn read_one, void **ret,
              size_t *ret_n);

/* A row of Plan (BUS_ROW_PLAN); its strings point into the reply. */
typedef struct PlanRow {
        uint32_t block;
        int32_t node;
        const char *action, *type, *zone, *rule, *reason, *note;
} PlanRow;
int plan_row_read(sd_bus_message *m, const char *signature, void *row);

/* A row of ListDevices (BUS_ROW_DEVICE); its strings point into the reply. */
typedef struct DeviceRow {
        const char *name, *object, *source, *mode, *memmap, *rule, *reason;
        int32_t target_node;
        uint64_t start, size;
        uint32_t online, total;
        const char *hotplug; /* daxX.Y/state: "none" without the file */
        int consistent;      /* whether the blocks agree with it */
} DeviceRow;
int device_row_read(sd_bus_message *m, const char *signature, void *row);

/* rows[first..last], shown as one line. */
typedef struct Range {
        size_t first, last;
} Range;

/* Whether row b continues row a's range. */
typedef bool (*row_mergeable_fn)(const void *a, const void *b, const void *userdata);

/* Merges consecutive mergeable rows into ranges; with all, one range per row. */
int rows_make_ranges(const void *rows, size_t n, size_t row_size, bool all, row_mergeable_fn mergeable,
                     const void *userdata, Range **ret, size_t *ret_n);

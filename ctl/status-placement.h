/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "json-writer.h"

/* memhotplugctl status: the NodePlacement property, Online=auto-movable's accounting per node, and
 * HotAddHeadroom. */

typedef struct NodePlacement {
        int32_t node; /* -1: the system */
        uint64_t boot_kernel, kernel, movable, memmap, headroom;
        uint32_t ratio;
        int numa_aware;
        /* What the kernel's rule compares: virtio-mem devices' movable memory left out, with the boot
         * kernel memory it needs. */
        uint64_t counted_movable, counted_kernel;
} NodePlacement;

/* The HotAddHeadroom property: the largest hot-add that is safe now. */
typedef struct NodeHeadroom {
        int32_t node; /* -1: the system */
        uint64_t free, reserve, struct_page, page_size, headroom, movable;
        int memmap_on_memory;
        char *reason;
} NodeHeadroom;

typedef struct StatusPlacement {
        NodePlacement *rows;
        size_t n_rows;
        NodeHeadroom *headroom;
        size_t n_headroom;
} StatusPlacement;

void status_placement_done(StatusPlacement *p);
/* Reads the property's variant; m is positioned on it. */
int status_placement_read(sd_bus_message *m, StatusPlacement *ret);
/* The same for HotAddHeadroom. */
int status_headroom_read(sd_bus_message *m, StatusPlacement *ret);
/* Lines through the status verb's own field printer. */
void status_placement_print(const StatusPlacement *p,
                            void (*field)(const char *label, const char *format, ...));
void status_placement_json(const StatusPlacement *p, JsonWriter *w);

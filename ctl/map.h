/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

/* memhotplugctl map: the memory of each NUMA node drawn as a row of cells, from the daemon
 * (verb-map.c) or from sysfs (map-sysfs.c). This part is pure: the facts in, the picture out. */

/* What a cell shows, in the order a merged cell picks from (the first its blocks have): what
 * needs a look first, then the device memory, then what is as it should be. MAP_HOLE is no
 * memory of this node at all. */
typedef enum MapKind {
        MAP_GOING_OFFLINE,
        MAP_DRIFT,
        MAP_OFFLINE,
        MAP_DAX,
        MAP_KERNEL,
        MAP_MOVABLE,
        MAP_BOOT,
        MAP_HOLE,
        _MAP_KIND_MAX,
} MapKind;

typedef struct MapBlock {
        uint32_t index;
        int32_t node; /* -1: not linked to a node */
        uint64_t start, size;
        char state[16]; /* online, offline, going-offline */
        char zone[16];  /* Movable, Normal, DMA32, ...; "" when offline */
        bool drift;     /* online in a zone the policy would not choose (the daemon's Plan) */
} MapBlock;

typedef struct MapDevice {
        char name[32];   /* dax0.0, PNP0C80:01 */
        char source[16]; /* DIMM, cxl, hmem, nvdimm, dax */
        char mode[16];   /* system-ram, devdax; "" for a DIMM */
        int32_t node;
        uint64_t start, size;
} MapDevice;

typedef struct Map {
        uint64_t block_size;
        MapBlock *blocks; /* in address order */
        size_t n_blocks;
        MapDevice *devices;
        size_t n_devices;
        const char *origin;      /* where the facts came from, for the first line */
        unsigned hidden_devices; /* dax devices whose range only root may read */
        bool drift_known;
} Map;

void map_done(Map *m);

int map_add_block(Map *m, const MapBlock *b);
int map_add_device(Map *m, const MapDevice *d);
/* Sorts the blocks and devices by address, once all are in. */
void map_sort(Map *m);
/* The block of that index, in a sorted map (a block's index is its address over the block size). */
const MapBlock *map_find_block(const Map *m, uint32_t index);

/* The kind of one block, on its own; DIMM or dax memory in a kernel zone is not boot memory. */
MapKind map_block_kind(const Map *m, const MapBlock *b);

/* The terminal's columns: $COLUMNS when set, the terminal's width, else 80. */
unsigned map_columns(int fd);

/* Prints the map in at most columns columns (40 at least). */
int map_print(const Map *m, unsigned columns, bool color, FILE *f);

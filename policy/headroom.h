/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Headroom: the largest hot-add that is safe now. A hot-add takes the memmap (one struct page per
 * page) of the whole range it adds from free memory before any of its blocks can be onlined, and
 * only from the kernel zones (a kernel allocation never comes from ZONE_MOVABLE); the kernel keeps
 * its watermarks free for itself. What is left is the memory for memmaps, and the memmap's size
 * per page gives the largest hot-add. Pure: facts in, figures out. */

#define HEADROOM_ZONES_MAX       8  /* the kernel's MAX_NR_ZONES is at most 6 */
#define HEADROOM_STRUCT_PAGE_DEF 64 /* bytes, assumed where the kernel does not tell */
#define HEADROOM_REASON_MAX      320

/* One zone of /proc/zoneinfo. Counts are in pages. */
typedef struct HeadroomZone {
        int node;
        unsigned index; /* its place among the node's zones: the index into protection[] */
        char name[16];
        bool movable;  /* Movable or Device: no kernel allocation is served from it */
        uint64_t free; /* "pages free" */
        uint64_t high; /* the high watermark */
        /* lowmem_reserve: what the zone keeps back from an allocation that could use a higher zone */
        uint64_t protection[HEADROOM_ZONES_MAX];
        unsigned n_protection;
} HeadroomZone;

typedef struct HeadroomFacts {
        const HeadroomZone *zones;
        size_t n_zones;
        uint64_t page_size, block_size; /* bytes */
        /* /proc/vmstat nr_memmap_boot_pages + nr_memmap_pages (Linux 6.11+; 0: not told), and the
         * pages of every present memory block, whose memmaps those are. */
        uint64_t memmap_pages, covered_pages;
        bool memmap_on_memory; /* memory_hotplug.memmap_on_memory: a DIMM carries its own memmap */
} HeadroomFacts;

typedef struct Headroom {
        int node;                       /* -1: the system */
        uint64_t free, reserve;         /* bytes in the kernel zones */
        uint64_t struct_page;           /* bytes of memmap per page */
        bool struct_page_assumed;       /* ... HEADROOM_STRUCT_PAGE_DEF: the kernel did not tell */
        uint64_t page_size, block_size; /* bytes */
        uint64_t headroom;              /* bytes: whole blocks whose memmap fits; UINT64_MAX: no bound */
        uint64_t movable; /* bytes: of headroom, what Online=auto-movable's ratio lets go movable */
        bool memmap_on_memory;
} Headroom;

/* The size of a struct page: the memmap the kernel reports over the pages it describes, to the
 * nearest 8 bytes; HEADROOM_STRUCT_PAGE_DEF (and *ret_assumed) when not told or not plausible. */
uint64_t headroom_struct_page(uint64_t memmap_pages, uint64_t covered_pages, uint64_t page_size,
                              bool *ret_assumed);

/* The headroom on node (its own zones; -1: every node's) with movable_limit bytes left under the
 * movable ratio (placement_headroom()). */
void headroom_compute(const HeadroomFacts *f, int node, uint64_t movable_limit, Headroom *ret);

/* The arithmetic in words ("node 0: free 412M - reserve 45M = 367M for memmaps: 23G at 64 B per
 * 4K page (2M per 128M block); of it 12G may go movable"), cut at size. */
void headroom_format(const Headroom *h, char *buf, size_t size);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "format-util.h"
#include "headroom.h"

uint64_t headroom_struct_page(uint64_t memmap_pages, uint64_t covered_pages, uint64_t page_size,
                              bool *ret_assumed)
{
        uint64_t bytes;

        assert(ret_assumed);

        *ret_assumed = true;
        if (memmap_pages == 0 || covered_pages == 0 || page_size == 0 ||
            memmap_pages > UINT64_MAX / page_size)
                return HEADROOM_STRUCT_PAGE_DEF;
        /* The kernel rounds each section's memmap up to whole pages, and a block may span a hole
         * in the sections: to the nearest 8 bytes (struct page is a multiple of the word size). */
        bytes = (memmap_pages * page_size + covered_pages * 4) / (covered_pages * 8) * 8;
        /* Anything else is a counter we misread, or memory we do not see the blocks of. */
        if (bytes < 32 || bytes > 256)
                return HEADROOM_STRUCT_PAGE_DEF;
        *ret_assumed = false;
        return bytes;
}

/* The highest kernel zone of the node: an allocation for a memmap (GFP_KERNEL) may use it and
 * every zone below, each keeping its protection against that zone back. */
static unsigned highest_kernel_zone(const HeadroomFacts *f, int node)
{
        unsigned top = 0;

        for (size_t i = 0; i < f->n_zones; i++)
                if (f->zones[i].node == node && !f->zones[i].movable && f->zones[i].index > top)
                        top = f->zones[i].index;
        return top;
}

static uint64_t zone_reserve(const HeadroomFacts *f, const HeadroomZone *z)
{
        unsigned top = highest_kernel_zone(f, z->node);

        /* The high watermark: below low kswapd starts reclaiming, and it keeps on until high; what
         * is free above high the kernel does not want back. */
        return z->high + (top < z->n_protection ? z->protection[top] : 0);
}

void headroom_compute(const HeadroomFacts *f, int node, uint64_t movable_limit, Headroom *ret)
{
        uint64_t free = 0, reserve = 0, avail, block_pages, per_block, blocks;
        bool assumed;

        assert(f);
        assert(ret);

        for (size_t i = 0; i < f->n_zones; i++) {
                const HeadroomZone *z = &f->zones[i];
                uint64_t r;

                if (z->movable || (node >= 0 && z->node != node))
                        continue;
                r = zone_reserve(f, z);
                free += z->free;
                /* A zone below its reserve gives nothing, and takes nothing from the others. */
                reserve += r < z->free ? r : z->free;
        }
        *ret = (Headroom){
                .node = node,
                .free = free * f->page_size,
                .reserve = reserve * f->page_size,
                .page_size = f->page_size,
                .block_size = f->block_size,
                .memmap_on_memory = f->memmap_on_memory,
        };
        ret->struct_page = headroom_struct_page(f->memmap_pages, f->covered_pages, f->page_size, &assumed);
        ret->struct_page_assumed = assumed;
        if (f->page_size == 0 || f->block_size < f->page_size)
                return;

        avail = (free - reserve) * f->page_size;
        block_pages = f->block_size / f->page_size;
        /* The kernel allocates each block's memmap in whole pages. */
        per_block = (block_pages * ret->struct_page + f->page_size - 1) / f->page_size * f->page_size;
        blocks = avail / per_block;
        ret->headroom = blocks > UINT64_MAX / f->block_size ? UINT64_MAX : blocks * f->block_size;
        ret->movable = movable_limit < ret->headroom ? movable_limit : ret->headroom;
}

void headroom_format(const Headroom *h, char *buf, size_t size)
{
        char where[24], fr[FORMAT_BYTES_MAX], rs[FORMAT_BYTES_MAX], av[FORMAT_BYTES_MAX],
                hr[FORMAT_BYTES_MAX], pg[FORMAT_BYTES_MAX], pb[FORMAT_BYTES_MAX], bs[FORMAT_BYTES_MAX],
                mv[FORMAT_BYTES_MAX];
        uint64_t avail = h->free - h->reserve, per_block = 0;
        int n;

        assert(h);
        assert(buf);

        if (size == 0)
                return;
        if (h->node < 0)
                snprintf(where, sizeof(where), "system");
        else
                snprintf(where, sizeof(where), "node %d", h->node);
        if (h->page_size > 0)
                per_block = (h->block_size / h->page_size * h->struct_page + h->page_size - 1) /
                            h->page_size * h->page_size;
        n = snprintf(
                buf, size,
                "%s: free %s - reserve %s = %s for memmaps: %s at %" PRIu64 " B%s per %s page (%s per %s "
                "block); of it %s may go movable",
                where, format_bytes(fr, h->free), format_bytes(rs, h->reserve), format_bytes(av, avail),
                h->headroom == UINT64_MAX ? "no bound" : format_bytes(hr, h->headroom), h->struct_page,
                h->struct_page_assumed ? " (assumed)" : "", format_bytes(pg, h->page_size),
                format_bytes(pb, per_block), format_bytes(bs, h->block_size), format_bytes(mv, h->movable));
        if (n < 0 || (size_t)n >= size || !h->memmap_on_memory)
                return;
        /* The memmap of a DIMM goes on the DIMM then; virtio-mem never does that. */
        snprintf(buf + n, size - (size_t)n,
                 "; memmap_on_memory: a DIMM or a dax device with its memmap on itself needs none of it");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The headroom: /proc/zoneinfo read into zones, and the arithmetic over them (policy/headroom.c). */
#include <errno.h>
#include <stdlib.h>

#include "headroom.h"
#include "tap.h"
#include "zoneinfo.h"

#define K     4096ULL
#define M     (1024ULL * 1024)
#define G     (1024ULL * M)
#define BLOCK (128 * M)

static HeadroomZone *zones;
static size_t n_zones;

static void test_zoneinfo(void)
{
        int r;

        r = zoneinfo_read(UNIT_FIXTURES_DIR "/zoneinfo-2node", &zones, &n_zones);
        tap_is_int(r, 0, "zoneinfo-2node read");
        if (!tap_is_int(n_zones, 10, "ten zones, empty ones too"))
                exit(tap_done());
        tap_is_str(zones[2].name, "Normal", "zone 2 of node 0 is Normal");
        tap_is_int(zones[2].index, 2, "... with the kernel's zone number");
        tap_is_int(zones[7].node, 1, "zone 7 is on node 1");
        tap_is_int(zones[7].index, 2, "... its Normal, numbered from its node's first zone");
        tap_is_int(zones[1].free, 100000, "pages free of DMA32");
        /* The pagesets' "high:" line of each CPU must not be taken for the watermark. */
        tap_is_int(zones[2].high, 24261, "the high watermark, not a pageset's high:");
        tap_is_int(zones[0].n_protection, 5, "five protection entries");
        tap_is_int(zones[0].protection[2], 21962, "DMA's protection against a Normal allocation");
        tap_ok(zones[3].movable && zones[4].movable && !zones[2].movable,
               "Movable and Device are not kernel zones");
        tap_is_int(zoneinfo_read(UNIT_FIXTURES_DIR "/no-such-zoneinfo", &(HeadroomZone *){ NULL },
                                 &(size_t){ 0 }),
                   -ENOENT, "a missing zoneinfo is -ENOENT");
}

static void test_struct_page(void)
{
        bool assumed;

        /* 48 blocks of 128M, 2M of memmap each. */
        tap_is_int(headroom_struct_page(48 * 512, 48 * 32768, K, &assumed), 64, "64 B per page");
        tap_ok(!assumed, "... told, not assumed");
        /* A debug kernel's 80-byte struct page. */
        tap_is_int(headroom_struct_page(48 * 640, 48 * 32768, K, &assumed), 80, "80 B per page");
        /* A block with a hole in its sections (one of 16 missing) still rounds to the real size. */
        tap_is_int(headroom_struct_page(15 * 512, 16 * 32768, K, &assumed), 64, "a hole rounds to 64 B");
        tap_is_int(headroom_struct_page(0, 48 * 32768, K, &assumed), HEADROOM_STRUCT_PAGE_DEF,
                   "no counter (before Linux 6.11): assumed");
        tap_ok(assumed, "... and says so");
        tap_is_int(headroom_struct_page(48 * 512, 32768, K, &assumed), HEADROOM_STRUCT_PAGE_DEF,
                   "blocks the daemon does not see: 3 KiB a page is not believed");
        tap_ok(assumed, "... assumed");
        tap_is_int(headroom_struct_page(UINT64_MAX / 2, 1, K, &assumed), HEADROOM_STRUCT_PAGE_DEF,
                   "no overflow on a huge counter");
}

static HeadroomFacts facts(void)
{
        return (HeadroomFacts){ .zones = zones,
                                .n_zones = n_zones,
                                .page_size = K,
                                .block_size = BLOCK,
                                .memmap_pages = 48 * 512,
                                .covered_pages = 48 * 32768 };
}

static void test_compute(void)
{
        HeadroomFacts f = facts();
        Headroom h;

        /* Node 0: kernel zones free 3840 + 100000 + 200000 pages. Reserve: DMA's high 17 plus its
         * protection against Normal 21962 is more than it has, so all 3840; DMA32 3864 + 18944;
         * Normal 24261. 252931 pages = 988M for memmaps, 2M per 128M block: 494 blocks. Without the
         * protection it would be 497 blocks, with ZONE_MOVABLE's free pages 1470. */
        headroom_compute(&f, 0, 4 * G, &h);
        tap_is_int(h.free, 303840 * K, "node 0: free in the kernel zones only");
        tap_is_int(h.reserve, (3840 + 3864 + 18944 + 24261) * K, "node 0: high watermarks and protection");
        tap_is_int(h.struct_page, 64, "node 0: 64 B per page");
        tap_is_int(h.headroom, 494 * BLOCK, "node 0: 494 blocks of 128M");
        tap_is_int(h.movable, 4 * G, "node 0: 4G of it may go movable");

        /* Node 1: Normal only, 50000 - 1000 pages = 191.4M: 95 blocks. Its Movable free is no use. */
        headroom_compute(&f, 1, 100 * G, &h);
        tap_is_int(h.headroom, 95 * BLOCK, "node 1: 95 blocks");
        tap_is_int(h.movable, 95 * BLOCK, "node 1: movable is at most the headroom");

        /* The system: 301931 pages = 1179.4M: 589 blocks. */
        headroom_compute(&f, -1, 0, &h);
        tap_is_int(h.headroom, 589 * BLOCK, "system: 589 blocks");
        tap_is_int(h.movable, 0, "system: nothing may go movable past the ratio");

        /* An 80-byte struct page: 2.5M per block, 395 blocks on node 0. */
        f.memmap_pages = 48 * 640;
        headroom_compute(&f, 0, 0, &h);
        tap_is_int(h.headroom, 395 * BLOCK, "node 0 at 80 B a page: 395 blocks");

        /* A node with no zones (no memory): nothing. */
        f = facts();
        headroom_compute(&f, 7, 0, &h);
        tap_is_int(h.headroom, 0, "a node without memory has no headroom of its own");
}

static void test_format(void)
{
        HeadroomFacts f = facts();
        char buf[HEADROOM_REASON_MAX];
        Headroom h;

        headroom_compute(&f, 1, 1 * G, &h);
        headroom_format(&h, buf, sizeof(buf));
        tap_is_str(
                buf,
                "node 1: free 195.3M - reserve 3.9M = 191.4M for memmaps: 11.9G at 64 B per 4K page (2M per "
                "128M block); of it 1G may go movable",
                "the arithmetic in words");

        f.memmap_pages = 0;
        f.memmap_on_memory = true;
        headroom_compute(&f, -1, 0, &h);
        headroom_format(&h, buf, sizeof(buf));
        tap_is_str(
                buf,
                "system: free 1.3G - reserve 202.8M = 1.2G for memmaps: 73.6G at 64 B (assumed) per 4K page "
                "(2M per 128M block); of it 0B may go movable; memmap_on_memory: a DIMM or a dax device "
                "with "
                "its memmap on itself needs none of it",
                "assumed struct page and memmap_on_memory in words");
        headroom_format(&h, buf, 20);
        tap_is_str(buf, "system: free 1.3G -", "cut at the buffer");
}

int main(void)
{
        test_zoneinfo();
        test_struct_page();
        test_compute();
        test_format();
        free(zones);
        return tap_done();
}

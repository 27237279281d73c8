/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iomem.h"
#include "macro.h"
#include "tap.h"

/* As a 6.12 guest with a virtio-mem device shows it: the device's region below a PCI window, the
 * System RAM virtio-mem added nested below that. */
static const char IOMEM[] = "00000000-00000fff : Reserved\n"
                            "00001000-0009fbff : System RAM\n"
                            "100000000-13fffffff : System RAM\n"
                            "140000000-1bfffffff : PCI Bus 0000:00\n"
                            "  140000000-17fffffff : virtio5\n"
                            "    140000000-147ffffff : System RAM (virtio_mem)\n"
                            "  180000000-1bfffffff : virtio51\n"
                            "fed00000-fed003ff : HPET 0\n";

static int find(const char *text, const char *name, uint64_t *start, uint64_t *end)
{
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        int r;

        if (!f)
                return -errno;
        r = iomem_find(f, name, start, end);
        fclose(f);
        return r;
}

/* Two devices, the first with two runs of System RAM (merged by the kernel), the second with none;
 * a "virtio" resource nested in another driver's range is not taken for System RAM. */
static const char IOMEM_TWO[] = "00001000-0009fbff : System RAM\n"
                                "140000000-2bfffffff : PCI Bus 0000:00\n"
                                "  140000000-23fffffff : virtio5\n"
                                "    140000000-1bfffffff : System RAM (virtio_mem)\n"
                                "      140000000-140ffffff : Kernel code\n"
                                "    200000000-207ffffff : System RAM (virtio_mem)\n"
                                "  240000000-2bfffffff : virtio6\n"
                                "  2c0000000-2c0000fff : virtio-pci-modern\n"
                                "300000000-3ffffffff : System RAM\n";

static const char IOMEM_HIDDEN[] = "00000000-00000000 : System RAM\n"
                                   "00000000-00000000 : PCI Bus 0000:00\n"
                                   "  00000000-00000000 : virtio5\n"
                                   "    00000000-00000000 : System RAM (virtio_mem)\n";

static int read_all(const char *text, IomemVirtioMem **l, size_t *n, bool *hidden)
{
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        int r;

        if (!f)
                return -errno;
        r = iomem_read_virtio_mem(f, l, n, hidden);
        fclose(f);
        return r;
}

static void test_virtio_mem(void)
{
        IomemVirtioMem *l = NULL;
        bool hidden = true;
        size_t n = 0;

        tap_is_int(read_all(IOMEM_TWO, &l, &n, &hidden), 0, "virtio-mem devices read");
        tap_ok(n == 2 && !hidden, "two devices, addresses shown");
        tap_ok(n == 2 && streq(l[0].name, "virtio5") && l[0].region.start == UINT64_C(0x140000000) &&
                       l[0].region.end == UINT64_C(0x23fffffff),
               "virtio5's region");
        tap_ok(n == 2 && l[0].n_ram == 2 && l[0].ram[0].end == UINT64_C(0x1bfffffff) &&
                       l[0].ram[1].start == UINT64_C(0x200000000),
               "its two System RAM runs, not the Kernel code below one");
        tap_ok(n == 2 && streq(l[1].name, "virtio6") && l[1].n_ram == 0, "virtio6, nothing plugged");
        iomem_virtio_mem_free(l, n);

        l = NULL;
        tap_is_int(read_all(IOMEM_HIDDEN, &l, &n, &hidden), 0, "read without CAP_SYS_ADMIN");
        tap_ok(hidden, "addresses hidden");
        iomem_virtio_mem_free(l, n);
        tap_is_int(read_all("garbage\n", &l, &n, &hidden), -EBADMSG, "a line that does not parse");
}

int main(void)
{
        uint64_t start = 0, end = 0;

        tap_is_int(find(IOMEM, "virtio5", &start, &end), 0, "virtio5 found, nested");
        tap_ok(start == UINT64_C(0x140000000) && end == UINT64_C(0x17fffffff), "its range");
        tap_is_int(find(IOMEM, "virtio51", &start, &end), 0, "virtio51 found");
        tap_ok(start == UINT64_C(0x180000000), "a longer name is not taken for a shorter one");
        tap_is_int(find(IOMEM, "virtio6", &start, &end), -ENOENT, "no virtio6");
        tap_is_int(find(IOMEM, "System RAM (virtio_mem)", &start, &end), 0, "names with blanks");
        tap_is_int(find("100-ff : backwards\n", "backwards", &start, &end), -EBADMSG, "end before start");
        tap_is_int(find("garbage\n", "x", &start, &end), -EBADMSG, "a line that does not parse");
        test_virtio_mem();
        return tap_done();
}

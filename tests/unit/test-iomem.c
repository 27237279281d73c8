/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iomem.h"
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
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iomem.h"
#include "read-file.h"

/* The /proc/iomem parser (common/iomem.c) over any text, as --iomem or a kernel could hand it.
 * Besides crashes and leaks, checks what it promises: ranges ordered, each device's System RAM
 * inside nothing it cannot hold, and a name that fits. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        IomemVirtioMem *l = NULL;
        uint64_t start, end;
        size_t n = 0;
        bool hidden;
        FILE *f;
        int r;

        f = fopen_buffer((const char *)data, size);
        if (!f)
                return 0;
        r = iomem_read_virtio_mem(f, &l, &n, &hidden);
        if (r >= 0) {
                for (size_t i = 0; i < n; i++) {
                        if (l[i].region.start > l[i].region.end ||
                            !memchr(l[i].name, '\0', sizeof(l[i].name)))
                                abort();
                        for (size_t j = 0; j < l[i].n_ram; j++)
                                if (l[i].ram[j].start > l[i].ram[j].end)
                                        abort();
                }
                iomem_virtio_mem_free(l, n);
        } else if (r != -EBADMSG && r != -ENOMEM)
                abort();
        fclose(f);

        f = fopen_buffer((const char *)data, size);
        if (!f)
                return 0;
        r = iomem_find(f, IOMEM_VIRTIO_MEM_RAM, &start, &end);
        if ((r >= 0 && start > end) || (r < 0 && r != -ENOENT && r != -EBADMSG))
                abort();
        fclose(f);
        return 0;
}

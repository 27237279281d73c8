/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "parse-util.h"
#include "read-file.h"
#include "virtio-mem.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

static void map_clear(VirtioMemMap *v)
{
        iomem_virtio_mem_free(v->devices, v->n_devices);
        free(v->of_block);
        v->devices = NULL;
        v->n_devices = 0;
        v->of_block = NULL;
        v->n_blocks = 0;
}

void virtio_mem_done(VirtioMemMap *v)
{
        assert(v);

        map_clear(v);
        if (v->fd >= 0)
                close(v->fd);
        v->fd = -EBADF;
}

/* The kernel's unit for a virtio-mem device's memory group (drivers/virtio/virtio_mem.c,
 * virtio_mem_init_hotplug()): one memory block in Sub Block Mode, the big block size in Big Block
 * Mode. The driver uses Big Block Mode when told to (force_bbm, with bbm_block_size if set) or when
 * the device's own block size is larger than a memory block; that size is not shown to user space,
 * so such a device is taken for one in Sub Block Mode (see memhotplugd.conf(5), MEMORY GROUPS). The
 * ranges in /proc/iomem do not tell either: the kernel merges adjacent additions
 * (MHP_MERGE_RESOURCE). */
static uint64_t unit_blocks(Sysfs *s, uint64_t block_size)
{
        _cleanup_(closep) int fd = -EBADF;
        uint64_t bb = 0;
        char buf[32];

        fd = sysfs_open_dir(s, "module/virtio_mem/parameters");
        if (fd < 0)
                return 1;
        if (sysfs_read_at(fd, "force_bbm", buf, sizeof(buf)) < 0 || !streq(buf, "Y"))
                return 1;
        if (sysfs_read_at(fd, "bbm_block_size", buf, sizeof(buf)) < 0 || parse_u64(buf, &bb) < 0)
                bb = 0;
        /* The driver takes bbm_block_size only if it is a power of two of at least a block. */
        if (bb < block_size || (bb & (bb - 1)) != 0)
                return 1;
        return bb / block_size;
}

static int map_blocks(VirtioMemMap *v, uint64_t block_size)
{
        uint64_t last = 0;

        for (size_t i = 0; i < v->n_devices; i++)
                for (size_t j = 0; j < v->devices[i].n_ram; j++)
                        last = MAX(last, v->devices[i].ram[j].end / block_size + 1);
        if (last > BLOCK_INDEX_MAX + 1)
                last = BLOCK_INDEX_MAX + 1;
        v->of_block = malloc(MAX(last, 1) * sizeof(int));
        if (!v->of_block)
                return -ENOMEM;
        v->n_blocks = last;
        for (size_t b = 0; b < last; b++)
                v->of_block[b] = -1;
        for (size_t i = 0; i < v->n_devices; i++)
                for (size_t j = 0; j < v->devices[i].n_ram; j++) {
                        const IomemRange *r = &v->devices[i].ram[j];

                        for (uint64_t b = r->start / block_size; b <= r->end / block_size && b < last; b++)
                                v->of_block[b] = (int)i;
                }
        return 0;
}

int virtio_mem_read(VirtioMemMap *v, Sysfs *s, uint64_t block_size)
{
        _cleanup_(fclosep) FILE *f = NULL;
        int r;

        assert(v);
        assert(s);

        if (v->fd < 0)
                return -EBADF;
        /* Read again through the fd of the open: the credentials are those of the open. */
        if (lseek(v->fd, 0, SEEK_SET) < 0)
                return -errno;
        r = fdopen_capped(v->fd, READ_MAX_PROC, &f);
        if (r < 0)
                return r;
        map_clear(v);
        v->seq++;
        r = iomem_read_virtio_mem(f, &v->devices, &v->n_devices, &v->hidden);
        if (r < 0)
                return r;
        v->n_hidden = 0;
        if (v->hidden) {
                /* Nothing in it can be placed: the devices are there, their blocks unknown. */
                v->n_hidden = v->n_devices;
                iomem_virtio_mem_free(v->devices, v->n_devices);
                v->devices = NULL;
                v->n_devices = 0;
        }
        v->unit_blocks = unit_blocks(s, block_size);
        return map_blocks(v, block_size);
}

int virtio_mem_open(const char *path, Sysfs *s, uint64_t block_size, VirtioMemMap *ret)
{
        int fd;

        assert(path);
        assert(s);
        assert(ret);

        *ret = (VirtioMemMap){ .fd = -EBADF, .unit_blocks = 1 };
        fd = open_regular_at(AT_FDCWD, path, NULL);
        if (fd < 0)
                return fd;
        ret->fd = fd;
        return virtio_mem_read(ret, s, block_size);
}

int virtio_mem_device_of(const VirtioMemMap *v, unsigned index)
{
        assert(v);

        return index < v->n_blocks ? v->of_block[index] : -1;
}

const IomemVirtioMem *virtio_mem_find(const VirtioMemMap *v, const char *name)
{
        assert(v);
        assert(name);

        for (size_t i = 0; i < v->n_devices; i++)
                if (streq(v->devices[i].name, name))
                        return &v->devices[i];
        return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kernel-info.h"
#include "macro.h"
#include "read-file.h"

int kernel_read_hotplug_param(Sysfs *s, const char *name, char *buf, size_t size)
{
        _cleanup_(closep) int fd = -EBADF;

        assert(s);
        assert(name);
        assert(buf);

        fd = sysfs_open_dir(s, "module/memory_hotplug/parameters");
        if (fd < 0)
                return fd;
        return sysfs_read_at(fd, name, buf, size);
}

int kernel_write_hotplug_param(Sysfs *s, const char *name, const char *value)
{
        _cleanup_(closep) int fd = -EBADF;

        assert(s);
        assert(name);
        assert(value);

        fd = sysfs_open_dir(s, "module/memory_hotplug/parameters");
        if (fd < 0)
                return fd;
        return sysfs_write_at(fd, name, value);
}

int kernel_read_vmstat(const char *path, const char *name, uint64_t *ret)
{
        _cleanup_(fclosep) FILE *f = NULL;
        char key[64];
        uint64_t v;
        int r;

        assert(path);
        assert(name);
        assert(ret);

        r = fopen_capped_at(AT_FDCWD, path, READ_MAX_PROC, &f);
        if (r < 0)
                return r;
        while (fscanf(f, "%63s %" SCNu64, key, &v) == 2)
                if (streq(key, name)) {
                        *ret = v;
                        return 0;
                }
        return -ENOENT;
}

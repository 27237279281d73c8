/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "tiers.h"

int tiers_read(Sysfs *s, int ret[static NODES_MAX])
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        assert(s);
        assert(ret);

        for (int i = 0; i < NODES_MAX; i++)
                ret[i] = -1;
        r = sysfs_opendir(s, "devices/virtual/memory_tiering", &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                bool set[NODES_MAX] = {};
                char path[sizeof(de->d_name) + 16], list[4096];
                unsigned tier;

                if (parse_sysname_index(de->d_name, "memory_tier", INT32_MAX, &tier) < 0)
                        continue;
                snprintf(path, sizeof(path), "%s/nodelist", de->d_name);
                if (sysfs_read_at(dirfd(d), path, list, sizeof(list)) < 0 ||
                    parse_index_list(list, set, NODES_MAX) < 0)
                        continue; /* a tier going away as we read, or a list we cannot use */
                for (int i = 0; i < NODES_MAX; i++)
                        if (set[i])
                                ret[i] = (int)tier;
        }
        return 0;
}

int tiers_node_has_cpus(Sysfs *s, int node)
{
        _cleanup_(closep) int fd = -EBADF;
        char path[64], list[4096];
        int r;

        assert(s);

        fd = sysfs_open_dir(s, "devices/system/node");
        if (fd < 0)
                return fd;
        snprintf(path, sizeof(path), "node%d/cpulist", node);
        r = sysfs_read_at(fd, path, list, sizeof(list));
        if (r < 0)
                return r;
        return list[0] != '\0';
}

static int open_numa(Sysfs *s)
{
        return sysfs_open_dir(s, "kernel/mm/numa");
}

int demotion_read(Sysfs *s, bool *ret)
{
        _cleanup_(closep) int fd = -EBADF;
        char buf[16];
        int r;

        assert(s);
        assert(ret);

        fd = open_numa(s);
        if (fd < 0)
                return fd;
        r = sysfs_read_at(fd, "demotion_enabled", buf, sizeof(buf));
        if (r < 0)
                return r;
        if (streq(buf, "true"))
                *ret = true;
        else if (streq(buf, "false"))
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

int demotion_write(Sysfs *s, bool on)
{
        _cleanup_(closep) int fd = -EBADF;

        assert(s);

        fd = open_numa(s);
        if (fd < 0)
                return fd;
        return sysfs_write_at(fd, "demotion_enabled", on ? "true" : "false");
}

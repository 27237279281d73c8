/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "memblock.h"
#include "parse-util.h"
#include "strv.h"

static int block_attr_read(Sysfs *s, unsigned index, const char *attr, char *buf, size_t size)
{
        char path[64];

        snprintf(path, sizeof(path), "memory%u/%s", index, attr);
        return sysfs_read_memory(s, path, buf, size);
}

/* The kernel links memoryN/nodeM to the block's node; there is no attribute that holds M. */
int memblock_read_node(Sysfs *s, unsigned index, int *ret)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        char path[32];
        int fd, r;

        assert(s);
        assert(ret);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return fd;
        snprintf(path, sizeof(path), "memory%u", index);
        r = sysfs_opendir_at(fd, path, &d);
        if (r < 0)
                return r;

        *ret = -1;
        while ((errno = 0, de = readdir(d))) {
                unsigned node;

                /* Not a node link, or (-ERANGE) one to a node no kernel has. */
                r = parse_node_name(de->d_name, &node);
                if (r == -EINVAL)
                        continue;
                if (r < 0)
                        return r;
                *ret = (int)node;
                return 0;
        }
        return errno != 0 ? negative_errno() : 0;
}

bool memblock_has_firmware_node(Sysfs *s, unsigned index)
{
        char path[48];
        struct stat st;
        int fd;

        assert(s);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return false;
        snprintf(path, sizeof(path), "memory%u/firmware_node", index);
        return fstatat(fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int memblock_read_state(Sysfs *s, unsigned index, BlockState *ret)
{
        char buf[32];
        BlockState st;
        int r;

        assert(s);
        assert(ret);

        r = block_attr_read(s, index, "state", buf, sizeof(buf));
        if (r < 0)
                return r;
        st = block_state_from_string(buf);
        if (st < 0)
                return -EBADMSG;
        *ret = st;
        return 0;
}

static int read_facts(Sysfs *s, unsigned index, int node, bool read_state, BlockFacts *ret,
                      const char **ret_attr)
{
        /* phys_index is not read: the kernel prints the block id there, the N of memoryN. */
        BlockFacts f = { .index = index, .phys_index = index, .node = node, .state = BLOCK_OFFLINE };
        char buf[128];
        int r;

        *ret_attr = "state";
        if (read_state) {
                r = memblock_read_state(s, index, &f.state);
                if (r < 0)
                        return r;
        }

        if (node == NODE_LOOK_UP) {
                *ret_attr = "node";
                r = memblock_read_node(s, index, &f.node);
                if (r < 0)
                        return r;
        }

        /* The kernel announces a hot-added block before it gives it a node (the node link comes
         * with the nid), and valid_zones of an offline block without a nid dereferences
         * NODE_DATA(NUMA_NO_NODE): Linux 6.12 oopses and the reader dies by SIGKILL. Until the
         * link is there, valid_zones is not read; the caller waits for the node. */
        if (f.node >= 0 || f.state == BLOCK_ONLINE || !sysfs_has_numa(s)) {
                *ret_attr = "valid_zones";
                r = block_attr_read(s, index, "valid_zones", buf, sizeof(buf));
                if (r >= 0) {
                        if (zones_from_string(buf, &f.valid_zones, &f.default_zone) < 0)
                                return -EBADMSG;
                        f.have_valid_zones = true;
                } else if (r != -ENOENT)
                        return r;
        }

        *ret_attr = NULL;
        *ret = f;
        return 0;
}

int memblock_read(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr)
{
        assert(s);
        assert(ret);
        assert(ret_attr);

        return read_facts(s, index, node, true, ret, ret_attr);
}

int memblock_read_added(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr)
{
        assert(s);
        assert(ret);
        assert(ret_attr);
        assert(node >= 0);

        return read_facts(s, index, node, false, ret, ret_attr);
}

static int node_dir_read(Sysfs *s, unsigned node, int **map, size_t *n)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "devices/system/node/node%u", node);
        r = sysfs_opendir(s, path, &d);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                unsigned index;

                /* A link with a number no kernel gives is skipped here; the block's own directory
                 * under memory/ is where the scan warns about it. */
                if (parse_block_name(de->d_name, &index) < 0)
                        continue;
                if (index >= *n) {
                        size_t nn = index + 1 > *n * 2 ? index + 1 : *n * 2;
                        int *nm = realloc(*map, nn * sizeof(int));

                        if (!nm)
                                return -ENOMEM;
                        for (size_t i = *n; i < nn; i++)
                                nm[i] = -1;
                        *map = nm;
                        *n = nn;
                }
                (*map)[index] = (int)node;
        }
        return errno != 0 ? negative_errno() : 0;
}

int memory_read_node_links(Sysfs *s, unsigned node, int **ret_map, size_t *ret_n)
{
        _cleanup_(freep) int *map = NULL;
        size_t n = 0;
        int r;

        assert(s);
        assert(ret_map);
        assert(ret_n);

        r = node_dir_read(s, node, &map, &n);
        if (r < 0)
                return r;
        *ret_map = TAKE_PTR(map);
        *ret_n = n;
        return 0;
}

int memory_read_node_map(Sysfs *s, int **ret_map, size_t *ret_n)
{
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(freep) int *map = NULL;
        struct dirent *de;
        size_t n = 0;
        int r;

        assert(s);
        assert(ret_map);
        assert(ret_n);

        r = sysfs_opendir(s, "devices/system/node", &d);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                unsigned node;

                /* Blocks in a node no kernel has are looked up one by one, and refused there. */
                if (parse_node_name(de->d_name, &node) < 0)
                        continue;
                r = node_dir_read(s, node, &map, &n);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return negative_errno();

        *ret_map = TAKE_PTR(map);
        *ret_n = n;
        return 0;
}

int memblock_write_state(Sysfs *s, unsigned index, const char *value)
{
        char path[48];
        int fd;

        assert(s);
        assert(value);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return fd;
        snprintf(path, sizeof(path), "memory%u/state", index);
        return sysfs_write_at(fd, path, value);
}

int memblock_enumerate(Sysfs *s, unsigned **ret, size_t *ret_n, char ***ret_refused)
{
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(freep) unsigned *l = NULL;
        _cleanup_(strv_freep) char **refused = NULL;
        size_t n = 0, allocated = 0, n_refused = 0;
        struct dirent *de;
        int fd, r;

        assert(s);
        assert(ret);
        assert(ret_n);
        assert(ret_refused);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return fd;
        /* A new open of ".": closedir() leaves the cached fd alone, and the offset is our own. */
        r = sysfs_opendir_at(fd, ".", &d);
        if (r < 0)
                return r;

        while ((errno = 0, de = readdir(d))) {
                unsigned index;

                r = parse_block_name(de->d_name, &index);
                if (r == -ERANGE) {
                        r = strv_consume(&refused, &n_refused, strdup(de->d_name));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        continue;
                if (n == allocated) {
                        unsigned *nl;

                        allocated = allocated ? allocated * 2 : 256;
                        nl = realloc(l, allocated * sizeof(unsigned));
                        if (!nl)
                                return -ENOMEM;
                        l = nl;
                }
                l[n++] = index;
        }
        if (errno != 0)
                return negative_errno();

        *ret = TAKE_PTR(l);
        *ret_n = n;
        *ret_refused = TAKE_PTR(refused);
        return 0;
}

int memory_read_block_size(Sysfs *s, uint64_t *ret)
{
        char buf[32];
        uint64_t v;
        int fd, r;

        assert(s);
        assert(ret);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return fd;
        r = sysfs_read_at(fd, "block_size_bytes", buf, sizeof(buf));
        if (r < 0)
                return r;
        if (parse_hex_u64(buf, &v) < 0 || v == 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

bool auto_online_value_valid(const char *s)
{
        assert(s);

        return streq(s, "offline") || streq(s, "online") || streq(s, "online_kernel") ||
               streq(s, "online_movable");
}

int memory_read_auto_online(Sysfs *s, char *buf, size_t size)
{
        int fd, r;

        assert(s);
        assert(buf);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return fd;
        r = sysfs_read_at(fd, "auto_online_blocks", buf, size);
        if (r < 0)
                return r;
        if (!auto_online_value_valid(buf))
                return -EBADMSG;
        return 0;
}

int memory_write_auto_online(Sysfs *s, const char *value)
{
        int fd;

        assert(s);
        assert(value);

        fd = sysfs_memory_fd(s);
        if (fd < 0)
                return fd;
        return sysfs_write_at(fd, "auto_online_blocks", value);
}

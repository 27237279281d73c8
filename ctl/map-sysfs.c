/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "acpi-memory-links.h"
#include "map-sysfs.h"
#include "parse-util.h"
#include "read-file.h"

/* sysfs attributes are a line each; the longest we read is a valid_zones list. */
#define ATTR_MAX 256

/* One attribute, its trailing newline cut. */
static int read_attr(int dirfd, const char *path, char *buf, size_t size)
{
        _cleanup_(freep) char *s = NULL;
        size_t n;
        int r;

        r = read_file_capped_at(dirfd, path, ATTR_MAX, &s, &n);
        if (r < 0)
                return r;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
        if (n >= size)
                return -ENAMETOOLONG;
        memcpy(buf, s, n + 1);
        return 0;
}

static DIR *opendir_at(int dirfd, const char *path)
{
        _cleanup_(closep) int fd = -EBADF;
        DIR *d;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (d)
                TAKE_FD(fd);
        return d;
}

static int read_block(int memfd, const char *name, unsigned index, uint64_t block_size, MapBlock *ret)
{
        _cleanup_(closedirp) DIR *d = NULL;
        MapBlock b = {
                .index = index, .node = -1, .start = (uint64_t)index * block_size, .size = block_size
        };
        char zones[ATTR_MAX], path[NAME_MAX + 32];
        struct dirent *de;
        int r;

        snprintf(path, sizeof(path), "%s/state", name);
        r = read_attr(memfd, path, b.state, sizeof(b.state));
        if (r < 0)
                return r;
        /* An online block's valid_zones names the zone it is in ("none": it spans two). */
        snprintf(path, sizeof(path), "%s/valid_zones", name);
        if (streq(b.state, "online") && read_attr(memfd, path, zones, sizeof(zones)) >= 0)
                snprintf(b.zone, sizeof(b.zone), "%.*s", (int)strcspn(zones, " "), zones);
        d = opendir_at(memfd, name);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                unsigned node;

                if (parse_node_name(de->d_name, &node) >= 0)
                        b.node = (int32_t)node;
        }
        *ret = b;
        return 0;
}

static int read_blocks(int rootfd, Map *m)
{
        _cleanup_(closedirp) DIR *d = NULL;
        char buf[ATTR_MAX];
        struct dirent *de;
        int r;

        d = opendir_at(rootfd, "devices/system/memory");
        if (!d)
                return negative_errno();
        r = read_attr(dirfd(d), "block_size_bytes", buf, sizeof(buf));
        if (r < 0)
                return r;
        r = parse_hex_u64(buf, &m->block_size);
        if (r < 0)
                return r;
        if (m->block_size == 0)
                return -EINVAL;
        while ((de = readdir(d))) {
                unsigned index;
                MapBlock b;

                if (parse_block_name(de->d_name, &index) < 0)
                        continue;
                /* A block removed while we read is just not drawn. */
                if (read_block(dirfd(d), de->d_name, index, m->block_size, &b) < 0)
                        continue;
                r = map_add_block(m, &b);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *dax_source(const char *path)
{
        /* The provenance rule of the kernel contract (memhotplugd(8), "DEVICE-DAX"): a CXL region's
         * dax region, an NVDIMM bus, a soft-reserved HMEM range. */
        if (strstr(path, "/dax_region") && strstr(path, "/region"))
                return "cxl";
        if (strstr(path, "/ndbus"))
                return "nvdimm";
        if (strstr(path, "/hmem."))
                return "hmem";
        return "dax";
}

static int read_dax(int devfd, const char *name, MapDevice *ret)
{
        MapDevice d = { .node = -1 };
        char buf[ATTR_MAX], link[PATH_MAX], path[NAME_MAX + 32];
        const char *driver;
        unsigned node;
        ssize_t n;
        int r;

        snprintf(d.name, sizeof(d.name), "%.*s", (int)sizeof(d.name) - 1, name);
        n = readlinkat(devfd, name, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        snprintf(d.source, sizeof(d.source), "%s", dax_source(link));
        snprintf(path, sizeof(path), "%s/resource", name);
        r = read_attr(devfd, path, buf, sizeof(buf));
        if (r >= 0)
                r = parse_hex_u64(buf, &d.start);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/size", name);
        r = read_attr(devfd, path, buf, sizeof(buf));
        if (r >= 0)
                r = parse_u64(buf, &d.size);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/target_node", name);
        if (read_attr(devfd, path, buf, sizeof(buf)) >= 0 &&
            parse_unsigned(buf, 0, NODE_INDEX_MAX, &node) >= 0)
                d.node = (int32_t)node;
        /* The mode is the driver bound: kmem made it system RAM, device_dax kept it a device. */
        snprintf(path, sizeof(path), "%s/driver", name);
        n = readlinkat(devfd, path, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        driver = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
        snprintf(d.mode, sizeof(d.mode), "%s",
                 streq(driver, "kmem")         ? "system-ram"
                 : streq(driver, "device_dax") ? "devdax"
                 : *driver                     ? "other"
                                               : "unbound");
        *ret = d;
        return 0;
}

static int read_daxes(int rootfd, Map *m)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir_at(rootfd, "bus/dax/devices");
        if (!d)
                return 0; /* no dax bus: no devices */
        while ((de = readdir(d))) {
                MapDevice dev;

                if (strncmp(de->d_name, "dax", 3) != 0)
                        continue;
                r = read_dax(dirfd(d), de->d_name, &dev);
                /* The kernel shows a dax device's resource to root only. */
                if (r == -EACCES)
                        m->hidden_devices++;
                if (r < 0)
                        continue;
                r = map_add_device(m, &dev);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A DIMM is what its blocks are: its range from the lowest to the highest, its node theirs. */
typedef struct DimmBlocks {
        const Map *map;
        MapDevice *dimm;
        uint64_t low, high;
} DimmBlocks;

static int dimm_block(unsigned index, void *userdata)
{
        DimmBlocks *db = userdata;
        const MapBlock *b = map_find_block(db->map, index);

        if (!b)
                return 0; /* a block we do not know (removed meanwhile) */
        db->low = b->start < db->low ? b->start : db->low;
        db->high = b->start + b->size > db->high ? b->start + b->size : db->high;
        db->dimm->node = b->node;
        return 0;
}

static int read_dimms(int rootfd, Map *m)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir_at(rootfd, "bus/acpi/devices");
        if (!d)
                return 0; /* no ACPI: no DIMMs to mark */
        while ((de = readdir(d))) {
                _cleanup_(closedirp) DIR *dev = NULL;
                MapDevice dimm = { .node = -1, .source = "DIMM" };
                DimmBlocks db = { .map = m, .dimm = &dimm, .low = UINT64_MAX };

                if (strncmp(de->d_name, "PNP0C80:", 8) != 0)
                        continue;
                dev = opendir_at(dirfd(d), de->d_name);
                if (!dev || acpi_memory_links(dev, dimm_block, &db) < 0 || db.high == 0)
                        continue; /* an empty slot, or memory we do not know */
                snprintf(dimm.name, sizeof(dimm.name), "%.*s", (int)sizeof(dimm.name) - 1, de->d_name);
                dimm.start = db.low;
                dimm.size = db.high - db.low;
                r = map_add_device(m, &dimm);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int open_root(const char *root)
{
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? negative_errno() : fd;
}

int map_read_dimms(const char *root, Map *m)
{
        _cleanup_(closep) int rootfd = -EBADF;

        assert(root);
        assert(m);

        rootfd = open_root(root);
        if (rootfd < 0)
                return rootfd;
        return read_dimms(rootfd, m);
}

int map_read_sysfs(const char *root, Map *m)
{
        _cleanup_(closep) int rootfd = -EBADF;
        int r;

        assert(root);
        assert(m);

        rootfd = open_root(root);
        if (rootfd < 0)
                return rootfd;
        r = read_blocks(rootfd, m);
        if (r < 0)
                return r;
        r = read_daxes(rootfd, m);
        if (r < 0)
                return r;
        map_sort(m);
        return read_dimms(rootfd, m);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "dax.h"
#include "ini-file.h"
#include "kernel-info.h"
#include "macro.h"
#include "parse-util.h"

DaxDevice *dax_device_free(DaxDevice *d)
{
        if (!d)
                return NULL;
        free(d->name);
        free(d->path);
        free(d->cxl_region);
        free(d->cxl_serials);
        free(d->nvdimm_uuid);
        free(d);
        return NULL;
}

static int cmp_str(const void *a, const void *b)
{
        return strverscmp(*(char *const *)a, *(char *const *)b);
}

int dax_enumerate(Sysfs *s, char ***ret)
{
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;
        int r;

        assert(s);
        assert(ret);

        r = sysfs_opendir(s, "bus/dax/devices", &d);
        if (r == -ENOENT) {
                /* No dax bus: no devices. */
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while ((errno = 0, de = readdir(d))) {
                char **nl;

                if (strncmp(de->d_name, "dax", 3) != 0)
                        continue;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strdup(de->d_name);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        if (errno != 0)
                return negative_errno();
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

DaxSource dax_source_from_path(const char *path)
{
        assert(path);

        /* …/regionZ/dax_regionZ/daxZ.N: a CXL region's; …/ndbusN/regionN/…: an NVDIMM namespace's;
         * …/hmem.N/…: soft-reserved memory the firmware described (HMAT). */
        if (strstr(path, "/dax_region") && strstr(path, "/region"))
                return DAX_SOURCE_CXL;
        if (strstr(path, "/ndbus"))
                return DAX_SOURCE_NVDIMM;
        if (strstr(path, "/hmem."))
                return DAX_SOURCE_HMEM;
        return 0;
}

/* "../../../devices/platform/hmem.0/dax0.0" -> "devices/platform/hmem.0/dax0.0" */
static int resolve_path(Sysfs *s, const char *name, char **ret)
{
        _cleanup_(closep) int fd = -EBADF;
        char target[PATH_MAX];
        const char *p;
        ssize_t n;

        fd = sysfs_open_dir(s, "bus/dax/devices");
        if (fd < 0)
                return fd;
        n = readlinkat(fd, name, target, sizeof(target) - 1);
        if (n < 0)
                return negative_errno();
        target[n] = '\0';
        p = target;
        while (strncmp(p, "../", 3) == 0)
                p += 3;
        *ret = strdup(p);
        return *ret ? 0 : -ENOMEM;
}

static int read_driver(int dfd, DaxDriver *ret)
{
        char target[PATH_MAX];
        const char *base;
        ssize_t n;

        n = readlinkat(dfd, "driver", target, sizeof(target) - 1);
        if (n < 0) {
                if (errno == ENOENT) {
                        *ret = DAX_DRIVER_NONE;
                        return 0;
                }
                return negative_errno();
        }
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        *ret = streq(base, "kmem")         ? DAX_DRIVER_KMEM
               : streq(base, "device_dax") ? DAX_DRIVER_DEVICE_DAX
                                           : DAX_DRIVER_OTHER;
        return 0;
}

/* An NVDIMM's device-dax sits below the nd_dax device (…/regionN/daxN.M/daxN.M), whose
 * "namespace" attribute names the namespace that holds the UUID daxctl's config matches. */
static int read_nvdimm_uuid(Sysfs *s, const char *path, char **ret)
{
        _cleanup_(freep) char *parent = NULL, *region = NULL;
        _cleanup_(closep) int fd = -EBADF, rfd = -EBADF;
        char ns[64], attr[96], uuid[64];
        char *slash;
        int r;

        parent = strdup(path);
        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        fd = sysfs_open_dir(s, parent);
        if (fd < 0)
                return fd;
        r = sysfs_read_at(fd, "namespace", ns, sizeof(ns));
        if (r < 0)
                return r;

        region = strdup(parent);
        if (!region)
                return -ENOMEM;
        slash = strrchr(region, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        rfd = sysfs_open_dir(s, region);
        if (rfd < 0)
                return rfd;
        snprintf(attr, sizeof(attr), "%s/uuid", ns);
        r = sysfs_read_at(rfd, attr, uuid, sizeof(uuid));
        if (r < 0)
                return r;
        *ret = strdup(uuid);
        return *ret ? 0 : -ENOMEM;
}

static int read_u64(int dfd, const char *attr, bool hex, uint64_t *ret)
{
        char buf[64];
        int r;

        r = sysfs_read_at(dfd, attr, buf, sizeof(buf));
        if (r < 0)
                return r;
        return hex ? parse_hex_u64(buf, ret) : parse_u64(buf, ret);
}

int dax_open_device_dir(Sysfs *s, const char *name)
{
        char rel[64];

        assert(s);
        assert(name);

        snprintf(rel, sizeof(rel), "bus/dax/devices/%s", name);
        return sysfs_open_dir(s, rel);
}

static int read_hotplug_at(int dfd, DaxHotplug *ret)
{
        DaxHotplug h;
        char buf[32];
        int r;

        r = sysfs_read_at(dfd, "state", buf, sizeof(buf));
        if (r < 0)
                return r;
        h = dax_hotplug_from_string(buf);
        if (h < 0 || h == DAX_HOTPLUG_NONE)
                return -EBADMSG;
        *ret = h;
        return 0;
}

int dax_device_read(Sysfs *s, const char *name, DaxDevice **ret, const char **ret_attr)
{
        _cleanup_(dax_device_freep) DaxDevice *d = NULL;
        _cleanup_(closep) int dfd = -EBADF;
        char buf[32];
        const char *region;
        int r;

        assert(s);
        assert(name);
        assert(ret);
        assert(ret_attr);

        d = calloc(1, sizeof(DaxDevice));
        if (!d)
                return -ENOMEM;
        d->name = strdup(name);
        if (!d->name)
                return -ENOMEM;

        *ret_attr = "path";
        r = resolve_path(s, name, &d->path);
        if (r < 0)
                return r;
        d->source = dax_source_from_path(d->path);

        dfd = dax_open_device_dir(s, name);
        if (dfd < 0)
                return dfd;

        *ret_attr = "size";
        r = read_u64(dfd, "size", false, &d->size);
        if (r < 0)
                return r == -EINVAL ? -EBADMSG : r;
        *ret_attr = "resource";
        r = read_u64(dfd, "resource", true, &d->resource);
        if (r < 0)
                return r == -EINVAL ? -EBADMSG : r;

        *ret_attr = "target_node";
        d->target_node = -1;
        r = sysfs_read_at(dfd, "target_node", buf, sizeof(buf));
        if (r >= 0) {
                unsigned node;

                if (!streq(buf, "-1")) {
                        if (parse_unsigned(buf, 0, INT_MAX, &node) < 0)
                                return -EBADMSG;
                        d->target_node = (int)node;
                }
        } else if (r != -ENOENT)
                return r;

        *ret_attr = "driver";
        r = read_driver(dfd, &d->driver);
        if (r < 0)
                return r;

        *ret_attr = "memmap_on_memory";
        d->memmap = -1;
        r = sysfs_read_at(dfd, "memmap_on_memory", buf, sizeof(buf));
        if (r >= 0) {
                d->memmap_attr = true;
                d->memmap = streq(buf, "1");
        } else if (r != -ENOENT)
                return r;

        /* A word of a later kernel is not an error: the device is handled block by block. */
        *ret_attr = "state";
        r = read_hotplug_at(dfd, &d->hotplug);
        if (r < 0 && r != -ENOENT && r != -EBADMSG)
                return r;
        if (r < 0)
                d->hotplug = DAX_HOTPLUG_NONE;

        if (d->source == DAX_SOURCE_CXL && (region = strstr(d->path, "/dax_region"))) {
                /* The region is named in the path: …/regionZ/dax_regionZ/… */
                d->cxl_region = strndup(region + strlen("/dax_"), strcspn(region + strlen("/dax_"), "/"));
                if (!d->cxl_region)
                        return -ENOMEM;
        }
        if (d->source == DAX_SOURCE_NVDIMM)
                (void)read_nvdimm_uuid(s, d->path, &d->nvdimm_uuid); /* older layouts lack it: no match */

        *ret_attr = NULL;
        *ret = TAKE_PTR(d);
        return 0;
}

int dax_write_memmap(Sysfs *s, const char *name, bool on)
{
        _cleanup_(closep) int dfd = -EBADF;

        assert(s);
        assert(name);

        dfd = dax_open_device_dir(s, name);
        if (dfd < 0)
                return dfd;
        return sysfs_write_at(dfd, "memmap_on_memory", on ? "1" : "0");
}

int dax_read_hotplug(Sysfs *s, const char *name, DaxHotplug *ret)
{
        _cleanup_(closep) int dfd = -EBADF;

        assert(s);
        assert(name);
        assert(ret);

        dfd = dax_open_device_dir(s, name);
        if (dfd < 0)
                return dfd;
        return read_hotplug_at(dfd, ret);
}

int dax_write_hotplug(Sysfs *s, const char *name, DaxHotplug h)
{
        _cleanup_(closep) int dfd = -EBADF;

        assert(s);
        assert(name);

        if (!dax_hotplug_writable(h))
                return -EINVAL;
        dfd = dax_open_device_dir(s, name);
        if (dfd < 0)
                return dfd;
        return sysfs_write_at(dfd, "state", dax_hotplug_to_string(h));
}

bool dax_memmap_global(Sysfs *s)
{
        char buf[16];

        assert(s);

        if (kernel_read_hotplug_param(s, "memmap_on_memory", buf, sizeof(buf)) < 0)
                return false;
        return streq(buf, "Y") || streq(buf, "force");
}

void dax_device_facts(const DaxDevice *d, bool memmap_global, DaxFacts *ret)
{
        assert(d);
        assert(ret);

        *ret = (DaxFacts){
                .name = d->name,
                .source = d->source,
                .target_node = d->target_node,
                .size = d->size,
                .resource = d->resource,
                .driver = d->driver,
                .cxl_serials = d->cxl_serials,
                .n_cxl_serials = d->n_cxl_serials,
                .cxl_region = d->cxl_region,
                .nvdimm_uuid = d->nvdimm_uuid,
                .memmap_attr = d->memmap_attr,
                .memmap_global = memmap_global,
                .memmap = d->memmap,
        };
}

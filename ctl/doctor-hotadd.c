/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "read-file.h"

/* virtio's device id of virtio-mem (the virtio specification, 5.15). */
#define VIRTIO_ID_MEM "0x0058"

typedef struct HotAdd {
        unsigned acpi_present, acpi_empty; /* PNP0C80 devices: DIMMs, and slots without one */
        unsigned virtio_mem, virtio_mem_unbound;
        unsigned dax;
        bool hv_balloon;
        unsigned soft_reserved; /* "Soft Reserved" ranges of /proc/iomem */
} HotAdd;

/* Calls fn for every entry of a directory under the root but . and .. */
static int for_each_entry(const Doctor *d, const char *dir,
                          int (*fn)(const Doctor *d, const char *dir, const char *name, HotAdd *h),
                          HotAdd *h)
{
        _cleanup_(closedirp) DIR *dd = NULL;
        _cleanup_(freep) char *p = NULL;
        struct dirent *de;
        int r;

        r = doctor_path(d, dir, &p);
        if (r < 0)
                return r;
        dd = opendir(p);
        while (dd && (de = readdir(dd))) {
                if (de->d_name[0] == '.')
                        continue;
                r = fn(d, dir, de->d_name, h);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_entry(const Doctor *d, const char *dir, const char *name, const char *attr, char **ret)
{
        _cleanup_(freep) char *path = NULL;

        if (asprintf(&path, "%s/%s/%s", dir, name, attr) < 0)
                return -ENOMEM;
        return doctor_read_line(d, path, ret);
}

/* An ACPI memory device is a DIMM slot; _STA's bit 0 says whether a DIMM is in it. */
static int on_acpi(const Doctor *d, const char *dir, const char *name, HotAdd *h)
{
        _cleanup_(freep) char *status = NULL;
        int r;

        if (strncmp(name, "PNP0C80:", 8) != 0)
                return 0;
        r = read_entry(d, dir, name, "status", &status);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && !(strtoul(status, NULL, 0) & 1))
                h->acpi_empty++;
        else
                h->acpi_present++;
        return 0;
}

static int on_virtio(const Doctor *d, const char *dir, const char *name, HotAdd *h)
{
        _cleanup_(freep) char *id = NULL, *driver = NULL;
        int r;

        r = read_entry(d, dir, name, "device", &id);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !streq(id, VIRTIO_ID_MEM))
                return 0;
        h->virtio_mem++;
        if (asprintf(&driver, "%s/%s/driver", dir, name) < 0)
                return -ENOMEM;
        if (!doctor_exists(d, driver))
                h->virtio_mem_unbound++;
        return 0;
}

static int on_dax(const Doctor *d, const char *dir, const char *name, HotAdd *h)
{
        if (strncmp(name, "dax", 3) == 0)
                h->dax++;
        return 0;
}

static int gather(Doctor *d, HotAdd *h)
{
        _cleanup_(freep) char *iomem = NULL;
        int r;

        r = for_each_entry(d, "/sys/bus/acpi/devices", on_acpi, h);
        if (r < 0)
                return r;
        r = for_each_entry(d, "/sys/bus/virtio/devices", on_virtio, h);
        if (r < 0)
                return r;
        r = for_each_entry(d, "/sys/bus/dax/devices", on_dax, h);
        if (r < 0)
                return r;
        h->hv_balloon = doctor_exists(d, "/sys/bus/vmbus/drivers/hv_balloon");
        /* Names are shown to everyone, only the addresses are hidden without CAP_SYS_ADMIN. */
        r = doctor_read_file(d, "/proc/iomem", READ_MAX_PROC, &iomem);
        if (r == -ENOMEM)
                return r;
        for (const char *p = iomem; p && (p = strstr(p, ": Soft Reserved")); p++)
                h->soft_reserved++;
        return 0;
}

/* Whether the kmem module is here: built in, loaded, or listed in modules.dep for the running
 * kernel (compressed or not). Returns 1, 0, or -ENOENT when modules.dep cannot be read. */
static int kmem_available(Doctor *d)
{
        _cleanup_(freep) char *path = NULL, *dep = NULL;
        int r;

        if (doctor_exists(d, "/sys/module/kmem"))
                return 1;
        if (!d->release)
                return -ENOENT;
        if (asprintf(&path, "/lib/modules/%s/modules.dep", d->release) < 0)
                return -ENOMEM;
        r = doctor_read_file(d, path, READ_MAX_PROC, &dep);
        if (r < 0)
                return r == -ENOMEM ? r : -ENOENT;
        for (const char *p = dep; (p = strstr(p, "/kmem.ko")); p++) {
                const char *end = p + strlen("/kmem.ko");

                /* kmem.ko, kmem.ko.xz, kmem.ko.zst: the module's own line, not a dependency. */
                if (*end == ':' || *end == '.')
                        return 1;
        }
        return 0;
}

static int check_kmem(Doctor *d, const HotAdd *h)
{
        _cleanup_(freep) char *kmem = NULL, *fix = NULL;
        int r;

        if (d->kconfig) {
                r = kconfig_get(d->kconfig, "DEV_DAX_KMEM", &kmem);
                if (r < 0)
                        return r;
                if (!kmem)
                        return doctor_add(
                                d, h->dax > 0 ? SEVERITY_WARNING : SEVERITY_INFO, "hot-add",
                                "use a kernel built with CONFIG_DEV_DAX_KMEM",
                                "CONFIG_DEV_DAX_KMEM is not set: dax devices (%u here) cannot become "
                                "system RAM",
                                h->dax);
                if (streq(kmem, "y"))
                        return doctor_add(d, SEVERITY_OK, "hot-add", NULL,
                                          "CONFIG_DEV_DAX_KMEM=y: dax devices can become system RAM");
        }
        r = kmem_available(d);
        if (r == -ENOMEM)
                return r;
        if (r > 0)
                return doctor_add(d, SEVERITY_OK, "hot-add", NULL,
                                  "The kmem module is loaded or can be: dax devices can become system RAM");
        if (asprintf(&fix, "install the modules of kernel %s (its linux-image package), then depmod -a %s",
                     strna(d->release), strna(d->release)) < 0)
                return -ENOMEM;
        /* A module the kernel was built to have is missing: the installation is broken. */
        if (kmem)
                return doctor_add(
                        d, SEVERITY_ERROR, "hot-add", fix,
                        "CONFIG_DEV_DAX_KMEM=m and the kmem module is %s for kernel %s: dax devices "
                        "cannot become system RAM",
                        r == 0 ? "not installed" : "not loaded, and modules.dep cannot be read",
                        strna(d->release));
        return doctor_add(
                d, SEVERITY_WARNING, "hot-add", fix,
                "The kmem module is %s for kernel %s, and its config could not be read: dax devices may "
                "not become system RAM",
                r == 0 ? "not installed" : "not loaded, and modules.dep cannot be read", strna(d->release));
}

static int check_virtio_mem(Doctor *d, const HotAdd *h)
{
        _cleanup_(freep) char *v = NULL;
        int r;

        if (h->virtio_mem == 0)
                return 0;
        if (d->kconfig) {
                r = kconfig_get(d->kconfig, "VIRTIO_MEM", &v);
                if (r < 0)
                        return r;
                if (!v)
                        return doctor_add(
                                d, SEVERITY_ERROR, "hot-add", "use a kernel built with CONFIG_VIRTIO_MEM",
                                "%u virtio-mem devices, and CONFIG_VIRTIO_MEM is not set: their memory "
                                "cannot be added",
                                h->virtio_mem);
        }
        if (h->virtio_mem_unbound > 0)
                return doctor_add(d, SEVERITY_WARNING, "hot-add", "modprobe virtio_mem",
                                  "%u of %u virtio-mem devices have no driver: their memory is not added",
                                  h->virtio_mem_unbound, h->virtio_mem);
        return doctor_add(d, SEVERITY_OK, "hot-add", NULL, "%u virtio-mem devices, driven by virtio_mem",
                          h->virtio_mem);
}

int doctor_check_hot_add(Doctor *d)
{
        HotAdd h = {};
        int r;

        assert(d);

        r = gather(d, &h);
        if (r < 0)
                return r;
        if (h.acpi_present + h.acpi_empty > 0) {
                r = doctor_add(d, SEVERITY_INFO, "hot-add", NULL,
                               "%u ACPI memory devices (PNP0C80), %u of them empty slots for a DIMM",
                               h.acpi_present + h.acpi_empty, h.acpi_empty);
                if (r < 0)
                        return r;
        }
        r = check_virtio_mem(d, &h);
        if (r < 0)
                return r;
        if (h.hv_balloon) {
                r = doctor_add(d, SEVERITY_INFO, "hot-add", NULL,
                               "Hyper-V dynamic memory (hv_balloon) can add memory here");
                if (r < 0)
                        return r;
        }
        if (h.dax > 0) {
                r = doctor_add(d, SEVERITY_INFO, "hot-add", NULL, "%u dax devices", h.dax);
                if (r < 0)
                        return r;
        } else if (h.soft_reserved > 0) {
                r = doctor_add(d, SEVERITY_WARNING, "hot-add", "modprobe dax_hmem",
                               "/proc/iomem has %u Soft Reserved ranges and there is no dax device for them",
                               h.soft_reserved);
                if (r < 0)
                        return r;
        }
        if (h.acpi_present + h.acpi_empty + h.virtio_mem + h.dax == 0 && !h.hv_balloon &&
            h.soft_reserved == 0) {
                r = doctor_add(
                        d, SEVERITY_INFO, "hot-add", NULL,
                        "Nothing here can add memory now: no ACPI memory device, virtio-mem device, Hyper-V "
                        "balloon or dax device");
                if (r < 0)
                        return r;
        }
        return check_kmem(d, &h);
}

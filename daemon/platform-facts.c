/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "macro.h"
#include "platform-facts.h"

static bool read_attr(Sysfs *s, const char *dir, const char *name, char *buf, size_t size)
{
        _cleanup_(closep) int fd = sysfs_open_dir(s, dir);

        return fd >= 0 && sysfs_read_at(fd, name, buf, size) >= 0;
}

static Virt read_virt(Sysfs *s)
{
        static const struct {
                const char *vendor;
                Virt virt;
        } vendors[] = {
                { "QEMU", VIRT_KVM },           { "KVM", VIRT_KVM },
                { "Red Hat", VIRT_KVM },        { "Microsoft Corporation", VIRT_HYPERV },
                { "VMware", VIRT_VMWARE },      { "Xen", VIRT_XEN },
                { "innotek GmbH", VIRT_OTHER }, { "Amazon EC2", VIRT_KVM },
                { "Google", VIRT_KVM },
        };
        char buf[128];

        if (read_attr(s, "hypervisor", "type", buf, sizeof(buf)) && streq(buf, "xen"))
                return VIRT_XEN;
        /* Hyper-V's DMI vendor is Microsoft's on its own laptops too: the product says "Virtual". */
        if (read_attr(s, "class/dmi/id", "sys_vendor", buf, sizeof(buf)))
                for (size_t i = 0; i < ELEMENTSOF(vendors); i++)
                        if (strncmp(buf, vendors[i].vendor, strlen(vendors[i].vendor)) == 0) {
                                char product[128];

                                if (vendors[i].virt != VIRT_HYPERV ||
                                    (read_attr(s, "class/dmi/id", "product_name", product,
                                               sizeof(product)) &&
                                     strstr(product, "Virtual")))
                                        return vendors[i].virt;
                        }
        return VIRT_NONE;
}

/* A driver directory with a device bound: an entry other than the driver's own files. */
static bool driver_bound(Sysfs *s, const char *path)
{
        static const char *const own[] = { ".",      "..",     "bind",   "unbind",
                                           "uevent", "module", "new_id", "remove_id" };
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (sysfs_opendir(s, path, &d) < 0)
                return false;
        while ((de = readdir(d))) {
                bool device = true;

                for (size_t i = 0; i < ELEMENTSOF(own); i++)
                        device = device && !streq(de->d_name, own[i]);
                if (device)
                        return true;
        }
        return false;
}

static Balloon read_balloon(Sysfs *s)
{
        _cleanup_(closep) int xen = -EBADF, vmw = -EBADF;

        if (driver_bound(s, "bus/virtio/drivers/virtio_balloon"))
                return BALLOON_VIRTIO;
        if (driver_bound(s, "bus/vmbus/drivers/hv_balloon"))
                return BALLOON_HYPERV;
        xen = sysfs_open_dir(s, "devices/system/xen_memory");
        if (xen >= 0)
                return BALLOON_XEN;
        /* VMware's balloon talks to the hypervisor through a backdoor, not a bus: its module. */
        vmw = sysfs_open_dir(s, "module/vmw_balloon");
        return vmw >= 0 ? BALLOON_VMWARE : BALLOON_NONE;
}

int platform_facts_read(Sysfs *s, PlatformFacts *ret)
{
        struct utsname u;

        assert(s);
        assert(ret);

        if (uname(&u) < 0)
                return -errno;
        *ret = (PlatformFacts){ .virt = read_virt(s), .balloon = read_balloon(s) };
        snprintf(ret->arch, sizeof(ret->arch), "%s", u.machine);
        return 0;
}

int platform_new(Platform **ret)
{
        Platform *p;

        assert(ret);

        p = calloc(1, sizeof(Platform));
        if (!p)
                return -ENOMEM;
        p->virtio_mem.fd = -EBADF;
        *ret = p;
        return 0;
}

Platform *platform_free(Platform *p)
{
        if (!p)
                return NULL;
        virtio_mem_done(&p->virtio_mem);
        free(p);
        return NULL;
}

int platform_resolve(Platform *p, Sysfs *s)
{
        PlatformFacts f;

        assert(p);
        assert(s);

        if (p->reason[0])
                return 0;
        if (platform_facts_read(s, &f) < 0)
                f = (PlatformFacts){};
        p->online = platform_online(&f, p->reason, sizeof(p->reason));
        return 1;
}

int platform_virtio_mem_open(Platform *p, const char *path, Sysfs *s, uint64_t block_size)
{
        int r;

        assert(p);
        assert(path);
        assert(s);

        r = virtio_mem_open(path, s, block_size, &p->virtio_mem);
        if (r < 0)
                snprintf(p->virtio_mem_note, sizeof(p->virtio_mem_note),
                         "virtio-mem devices are not grouped: cannot read %s: %s", path, strerror(-r));
        else if (p->virtio_mem.hidden)
                snprintf(p->virtio_mem_note, sizeof(p->virtio_mem_note),
                         "virtio-mem devices are not grouped: %s hides its addresses (started without "
                         "CAP_SYS_ADMIN)",
                         path);
        return r;
}

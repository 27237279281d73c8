/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "platform.h"
#include "string-table.h"

static const char *const virt_table[_VIRT_MAX] = {
        [VIRT_NONE] = "none",     [VIRT_KVM] = "kvm",       [VIRT_XEN] = "xen",
        [VIRT_HYPERV] = "hyperv", [VIRT_VMWARE] = "vmware", [VIRT_OTHER] = "other",
};

static const char *const balloon_table[_BALLOON_MAX] = {
        [BALLOON_NONE] = "none",       [BALLOON_VIRTIO] = "virtio_balloon", [BALLOON_HYPERV] = "hv_balloon",
        [BALLOON_XEN] = "xen-balloon", [BALLOON_VMWARE] = "vmw_balloon",
};

DEFINE_STRING_TABLE_TO_STRING(virt, Virt);
DEFINE_STRING_TABLE_TO_STRING(balloon, Balloon);

OnlineType platform_online(const PlatformFacts *f, char *reason, size_t size)
{
        const char *arch;

        assert(f);
        assert(reason);

        arch = f->arch[0] ? f->arch : "unknown";
        /* s390 standby memory is brought online by the administrator (chmem); the distributions'
         * rules leave s390 alone (RHEL 40-redhat.rules). */
        if (strncmp(arch, "s390", 4) == 0) {
                snprintf(reason, size, "%s: standby memory stays offline until the administrator onlines it",
                         arch);
                return ONLINE_TYPE_OFFLINE;
        }
        /* On pseries the kernel onlines DLPAR memory itself; RHEL's rules leave ppc64 alone. */
        if (strncmp(arch, "ppc64", 5) == 0) {
                snprintf(reason, size, "%s: DLPAR memory is onlined by the kernel, left to it", arch);
                return ONLINE_TYPE_OFFLINE;
        }
        /* Balloons whose pages cannot migrate pin ZONE_MOVABLE memory and fragment it: the kernel
         * zone, as RHEL's rules online memory in any VM. */
        if (f->balloon == BALLOON_HYPERV || f->balloon == BALLOON_XEN || f->balloon == BALLOON_VMWARE) {
                snprintf(reason, size,
                         "%s, %s virtual machine with %s (its pages do not migrate): the kernel's zone",
                         arch, virt_to_string(f->virt), balloon_to_string(f->balloon));
                return ONLINE_TYPE_ONLINE;
        }
        if (f->virt != VIRT_NONE)
                snprintf(reason, size, "%s, %s virtual machine%s%s: movable while the ratio holds", arch,
                         virt_to_string(f->virt), f->balloon == BALLOON_VIRTIO ? " with " : "",
                         f->balloon == BALLOON_VIRTIO ? balloon_to_string(f->balloon) : "");
        else
                snprintf(reason, size, "%s, bare metal: movable while the ratio holds", arch);
        return ONLINE_TYPE_AUTO_MOVABLE;
}

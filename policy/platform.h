/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "memtypes.h"

/* Online=platform, the default: what to do with hot-added memory where the config does not say,
 * chosen by the machine (docs/memhotplugd.conf.5, PLATFORM DEFAULTS). Pure: the daemon reads the
 * facts (daemon/platform-facts.c). */

typedef enum Virt {
        VIRT_NONE, /* bare metal, or nothing said otherwise */
        VIRT_KVM,  /* KVM or QEMU */
        VIRT_XEN,
        VIRT_HYPERV,
        VIRT_VMWARE,
        VIRT_OTHER,
        _VIRT_MAX,
} Virt;

typedef enum Balloon {
        BALLOON_NONE,
        BALLOON_VIRTIO, /* virtio-balloon: its pages migrate (balloon compaction) */
        BALLOON_HYPERV, /* hv_balloon: adds memory itself, its ballooned pages do not migrate */
        BALLOON_XEN,    /* Xen's balloon: likewise */
        BALLOON_VMWARE,
        _BALLOON_MAX,
} Balloon;

typedef struct PlatformFacts {
        char arch[65]; /* uname -m */
        Virt virt;
        Balloon balloon;
} PlatformFacts;

/* The type Online=platform stands for on this machine, and why, in a phrase for status and log. */
OnlineType platform_online(const PlatformFacts *f, char *reason, size_t size);

const char *virt_to_string(Virt v);
const char *balloon_to_string(Balloon b);

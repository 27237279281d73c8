/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* What an unplug target names, from its text alone: pure, so that the fuzzer runs it. */

typedef enum UnplugKind {
        UNPLUG_BLOCKS,    /* "12", "memory12", "12-15", "memory12-memory15" */
        UNPLUG_ACPI,      /* an ACPI memory device (a DIMM): "PNP0C80:03" */
        UNPLUG_DAX,       /* a dax device that is system RAM: "dax0.0" */
        UNPLUG_VIRTIO,    /* a virtio-mem device's region: "virtio5" */
        UNPLUG_ADDRESSES, /* the blocks in a physical address range: "0x140000000-0x17fffffff" */
} UnplugKind;

typedef struct UnplugTarget {
        UnplugKind kind;
        unsigned first, last; /* UNPLUG_BLOCKS: first <= last <= BLOCK_INDEX_MAX */
        uint64_t start, end;  /* UNPLUG_ADDRESSES: first and last byte, start <= end */
} UnplugTarget;

/* The kind of target (a device's name is the text itself), or -EINVAL for text that is none of
 * them; -ENOMEM. */
int unplug_target_parse(const char *target, UnplugTarget *ret);

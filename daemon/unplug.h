/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"
#include "unplug-target.h"

/* Unplug preparation: what memory a target is, and whether it can go. The offlining itself is the
 * onliner's (onliner_request_offline()), shared with OfflineBlocks and RevertDevice. */

/* The blocks of target that are present, in address order. Errors: -EINVAL the target is none of
 * UnplugKind's (unplug-target.h); -ENODEV no such device, or a device with no memory blocks; -ENOENT a block
 * of the range does not exist (*ret_missing names it); -EPERM /proc/iomem hides the addresses from us (the
 * daemon was started without CAP_SYS_ADMIN, see virtio-mem.h). */
int unplug_target_blocks(Manager *m, const char *target, UnplugKind *ret_kind, unsigned **ret, size_t *ret_n,
                         unsigned *ret_missing);

/* Whether every online block can be offlined for good: memory in a kernel zone holds allocations
 * that cannot move. Returns 0, or -EXDEV with the highest such block in *ret_index. */
int unplug_check_removable(Manager *m, const unsigned *blocks, size_t n, unsigned *ret_index);

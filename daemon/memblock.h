/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "sysfs.h"

/* Reading and writing memory blocks (devices/system/memory/memoryN) through the sysfs module. */

/* Fills facts from sysfs. node is the block's node when the caller knows it (from
 * memory_read_node_map()), or NODE_LOOK_UP to find it. On a value that does not parse returns
 * -EBADMSG and names the attribute in *ret_attr (also set for other errors: the attribute that failed). */
#define NODE_LOOK_UP (-2)
int memblock_read(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr);
/* The same for a block the kernel just added offline (auto_online_blocks says offline) and linked
 * to node: its state is not read, a syscall sequence per block less while the kernel's hot-add
 * waits for its first online. Should another agent online it meanwhile, the write of ours fails
 * with EINVAL, which the onliner counts as done by that agent, after reading the state then. */
int memblock_read_added(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr);

/* The node of every block, from devices/system/node/nodeN/memoryM: one directory listing per node
 * instead of one per block. Blocks in no node are -1. -ENOENT without NUMA in sysfs. */
int memory_read_node_map(Sysfs *s, int **ret_map, size_t *ret_n);
/* The same for one node's directory only: the other entries are -1. */
int memory_read_node_links(Sysfs *s, unsigned node, int **ret_map, size_t *ret_n);
int memblock_read_state(Sysfs *s, unsigned index, BlockState *ret);
/* The node the block is linked to, -1 while it has no link yet. */
int memblock_read_node(Sysfs *s, unsigned index, int *ret);
/* Whether the block is bound to a firmware device (memoryN/firmware_node: its ACPI memory device,
 * linked right after the kernel added the DIMM's blocks). */
bool memblock_has_firmware_node(Sysfs *s, unsigned index);
int memblock_write_state(Sysfs *s, unsigned index, const char *value);

/* Every memoryN present, unsorted. *ret_refused (NULL if none) holds the names of the form memoryN
 * whose N no kernel gives (parse_block_name()), left out of the list. */
int memblock_enumerate(Sysfs *s, unsigned **ret, size_t *ret_n, char ***ret_refused);

int memory_read_block_size(Sysfs *s, uint64_t *ret);
/* auto_online_blocks: "offline", "online", "online_kernel" or "online_movable". */
bool auto_online_value_valid(const char *s);
int memory_read_auto_online(Sysfs *s, char *buf, size_t size);
int memory_write_auto_online(Sysfs *s, const char *value);

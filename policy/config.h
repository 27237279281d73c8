/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dax-rule.h"
#include "memtypes.h"

#define CONFIG_FILE_DEFAULT       "/etc/memhotplugd/memhotplugd.conf"
#define NODE_MAX                  1023 /* the kernel's MAX_NUMNODES is at most 1024 */
#define DAXCTL_CONFIG_DIR_DEFAULT "/etc/daxctl.conf.d"

typedef enum KernelAutoOnline {
        KERNEL_AUTO_ONLINE_TAKEOVER, /* set auto_online_blocks=offline while running */
        KERNEL_AUTO_ONLINE_RESPECT,  /* leave it; handle what the kernel left offline */
        _KERNEL_AUTO_ONLINE_MAX,
        _KERNEL_AUTO_ONLINE_INVALID = -EINVAL,
} KernelAutoOnline;

typedef enum UeventSource {
        UEVENT_SOURCE_KERNEL, /* the kernel's netlink group: no udevd round trip */
        UEVENT_SOURCE_UDEV,   /* after udevd processed the event */
        _UEVENT_SOURCE_MAX,
        _UEVENT_SOURCE_INVALID = -EINVAL,
} UeventSource;

typedef struct NodePolicy {
        unsigned node;
        OnlineType online;
} NodePolicy;

typedef struct Config {
        /* [Daemon] */
        unsigned chunk_blocks;
        uint64_t chunk_pause_usec;
        bool scan_at_start;
        KernelAutoOnline kernel_auto_online;
        UeventSource uevent_source;
        int log_level; /* -1: not set, keep the command line's or the default */
        unsigned max_attempts;
        uint64_t retry_usec;

        /* [Memory] */
        OnlineType online;

        /* [Node N], in the order first seen */
        NodePolicy *nodes;
        size_t n_nodes;

        /* [Dax]: defaults for device-dax instances, then [Dax NAME] rules in order of first
         * appearance; the first rule that matches a device decides. */
        DaxRule dax;
        DaxRule *dax_rules;
        size_t n_dax_rules;
        bool import_daxctl;
        char *daxctl_config_dir;

        /* Every file that was read, in order, for status and logs. */
        char **files;
        size_t n_files;
} Config;

void config_init_defaults(Config *c);
Config *config_free(Config *c);
static inline void config_freep(Config **c)
{
        config_free(*c);
}

/* Reads path and then path.d/\*.conf in lexical order (later wins). A missing main file is fine
 * unless required. On a bad file returns a negative errno and, in *ret_error, "file:line: what". */
int config_load(const char *path, bool required, Config **ret, char **ret_error);

/* Parses one file into c (used by config_load; exposed for tests). */
int config_parse_file(Config *c, const char *path, char **ret_error);

const NodePolicy *config_find_node(const Config *c, unsigned node);
const DaxRule *config_find_dax_rule(const Config *c, const char *name);

const char *kernel_auto_online_to_string(KernelAutoOnline k);
KernelAutoOnline kernel_auto_online_from_string(const char *s);
const char *uevent_source_to_string(UeventSource s);
UeventSource uevent_source_from_string(const char *s);

/* Writes the effective configuration in the file's syntax (for --check-config). */
int config_dump(const Config *c, FILE *f);

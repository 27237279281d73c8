/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>

#include "dax-rule.h"
#include "memtypes.h"
#include "parse-util.h"

#define CONFIG_FILE_DEFAULT       "/etc/memhotplugd/memhotplugd.conf"
#define NODE_MAX                  NODE_INDEX_MAX /* the kernel's MAX_NUMNODES is at most 1024 */
#define DAXCTL_CONFIG_DIR_DEFAULT "/etc/daxctl.conf.d"
/* The systemd credential read as the last drop-in, from $CREDENTIALS_DIRECTORY (memhotplugd.service
 * has LoadCredential=memhotplugd.conf: from the system credential store, which systemd fills from
 * the kernel command line, SMBIOS type 11 and QEMU's fw_cfg). */
#define CONFIG_CREDENTIAL "memhotplugd.conf"
/* Where Debian's prometheus-node-exporter reads its textfile collector's files. The daemon never
 * makes the directory: without the exporter's package the default writes nothing. */
#define METRICS_FILE_DEFAULT "/var/lib/prometheus/node-exporter/memhotplugd.prom"
/* Drop-ins of the default config, highest priority first (systemd's /etc, /run, /usr/lib). */
#define CONFIG_DROPIN_DIRS_DEFAULT                                                                          \
        {                                                                                                   \
                "/etc/memhotplugd/memhotplugd.conf.d", "/run/memhotplugd/memhotplugd.conf.d",               \
                        "/usr/lib/memhotplugd/memhotplugd.conf.d", NULL                                     \
        }
/* [Dax NAME] rules, native and imported from daxctl together: far more than devices a machine
 * has, few enough that matching a device stays cheap. */
#define CONFIG_DAX_RULES_MAX 4096

typedef enum KernelAutoOnline {
        KERNEL_AUTO_ONLINE_TAKEOVER, /* set auto_online_blocks=offline while running */
        KERNEL_AUTO_ONLINE_RESPECT,  /* leave it; handle what the kernel left offline */
        KERNEL_AUTO_ONLINE_DELEGATE, /* set the kernel's knobs to the policy; audit what it onlines */
        _KERNEL_AUTO_ONLINE_MAX,
        _KERNEL_AUTO_ONLINE_INVALID = -EINVAL,
} KernelAutoOnline;

/* /sys/kernel/mm/numa/demotion_enabled while the daemon runs. */
typedef enum DemotionMode {
        DEMOTION_KEEP, /* the kernel's setting, untouched */
        DEMOTION_YES,  /* enabled while we run, the kernel's setting restored on exit */
        DEMOTION_NO,   /* disabled while we run, likewise */
        _DEMOTION_MAX,
        _DEMOTION_INVALID = -EINVAL,
} DemotionMode;

typedef enum UeventSource {
        UEVENT_SOURCE_KERNEL, /* the kernel's netlink group: no udevd round trip */
        UEVENT_SOURCE_UDEV,   /* after udevd processed the event */
        _UEVENT_SOURCE_MAX,
        _UEVENT_SOURCE_INVALID = -EINVAL,
} UeventSource;

/* Origin slots of the [Node N] keys, and of the keys of Config itself ([Daemon], [Memory] and the
 * [Dax] keys that are not a rule's). */
#define NODE_POLICY_KEYS 3
#define CONFIG_OWN_KEYS  17

typedef struct NodePolicy {
        unsigned node;
        OnlineType online;
        /* Online=auto-movable on this node; unset ones (UINT_MAX, -1) follow [Memory]. */
        unsigned movable_ratio;
        int numa_aware;
        ConfigOrigin origin[NODE_POLICY_KEYS];
} NodePolicy;

/* Upper bounds of the time keys, checked at parse time: the daemon adds them to the monotonic
 * clock (and RetrySec= times up to MaxAttempts=), so no accepted value can wrap a deadline. Each
 * is far beyond any sensible setting of its key. */
#define CHUNK_PAUSE_USEC_MAX     (UINT64_C(3600) * 1000000)  /* an hour between chunks */
#define RETRY_USEC_MAX           (UINT64_C(3600) * 1000000)  /* an hour, times 1000 attempts at most */
#define OFFLINE_TIMEOUT_USEC_MAX (UINT64_C(86400) * 1000000) /* a day for one block's offline */

typedef struct Config {
        /* [Daemon] */
        unsigned chunk_blocks;
        uint64_t chunk_pause_usec;
        bool scan_at_start;
        bool lock_memory; /* mlockall(): onlining under pressure never waits for our own pages */
        KernelAutoOnline kernel_auto_online;
        DemotionMode demotion;
        UeventSource uevent_source;
        int log_level; /* -1: not set, keep the command line's or the default */
        unsigned max_attempts;
        uint64_t retry_usec;
        uint64_t offline_timeout_usec; /* one offline write; 0: no limit */
        /* The metrics file for node_exporter: NULL the default (METRICS_FILE_DEFAULT), "" none. */
        char *metrics_file;

        /* [Memory] */
        OnlineType online;
        unsigned movable_ratio; /* percent, for Online=auto-movable */
        bool numa_aware;        /* auto-movable also holds the ratio on the block's node */

        /* [Node N], in the order first seen */
        NodePolicy *nodes;
        size_t n_nodes;

        /* [Dax]: defaults for device-dax instances, then [Dax NAME] rules in order of first
         * appearance; the first rule that matches a device decides. */
        DaxRule dax;
        DaxRule *dax_rules;
        size_t n_dax_rules;
        size_t n_dax_rules_allocated;
        bool import_daxctl;
        char *daxctl_config_dir;

        /* Every file that was read, in order, for status and logs; the credential, if one was read,
         * is the file credential_file (index + 1; 0: none). */
        char **files;
        size_t n_files;
        size_t credential_file;
        ConfigOrigin origin[CONFIG_OWN_KEYS];
} Config;

/* A [Node N] as first seen: nothing set, everything follows [Memory] once parsing ends. */
#define NODE_POLICY_UNSET(n)                                                                                \
        (NodePolicy)                                                                                        \
        {                                                                                                   \
                .node = (n), .online = _ONLINE_TYPE_INVALID, .movable_ratio = UINT_MAX, .numa_aware = -1    \
        }

void config_init_defaults(Config *c);
Config *config_free(Config *c);
static inline void config_freep(Config **c)
{
        config_free(*c);
}

/* Reads path, then the *.conf drop-ins of dropin_dirs (highest priority first; systemd's rules: a
 * name in an earlier directory masks the same name in later ones, a link to /dev/null masks, the
 * rest are applied in lexical order of their names across all directories, later wins), then the
 * credential CONFIG_CREDENTIAL in credentials_dir (NULL: none; a missing credential is no error).
 * With dropin_dirs NULL: CONFIG_DROPIN_DIRS_DEFAULT for the default path when not required, else
 * path.d/ alone (an explicit --config). A missing main file is fine unless required. On a bad
 * file returns a negative errno and, in *ret_error, "file:line: what"; *ret_error_file (may be
 * NULL) is then the file or directory at fault, or NULL if none is. */
int config_load_full(const char *path, bool required, const char *const *dropin_dirs,
                     const char *credentials_dir, Config **ret, char **ret_error, char **ret_error_file);
int config_load(const char *path, bool required, Config **ret, char **ret_error);

/* A config_load() error as log_…_errno() should take it: what the files hold or are (a bad value,
 * an unknown key or section, a syntax error, a line too long or with a NUL byte, too many rules or
 * drop-ins, a file too large or not a regular file, a daxctl section without nvdimm.uuid=) is no
 * system call's error and comes back as SYNTHETIC_ERRNO(), so the journal gets no ERRNO= for it;
 * a system call's error (ENOENT, EACCES, EIO, ELOOP, EISDIR …) comes back as it is. */
int config_error_for_log(int r);

/* Room for one more [Dax NAME] rule at c->dax_rules[c->n_dax_rules]; -E2BIG past
 * CONFIG_DAX_RULES_MAX. Grows geometrically, so adding n rules is linear. */
int config_dax_rules_reserve(Config *c);

/* Online=platform (the default) becomes type wherever it stands. */
void config_apply_platform(Config *c, OnlineType type);

const NodePolicy *config_find_node(const Config *c, unsigned node);
const DaxRule *config_find_dax_rule(const Config *c, const char *name);

const char *kernel_auto_online_to_string(KernelAutoOnline k);
const char *demotion_mode_to_string(DemotionMode d);
DemotionMode demotion_mode_from_string(const char *s);
KernelAutoOnline kernel_auto_online_from_string(const char *s);
const char *uevent_source_to_string(UeventSource s);
UeventSource uevent_source_from_string(const char *s);

/* Writes the effective configuration in the file's syntax (for --check-config), each setting made
 * in a file after a comment line that names it: "# FILE:LINE", "# credential memhotplugd.conf:LINE". */
int config_dump(const Config *c, FILE *f);

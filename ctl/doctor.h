/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* memhotplugctl doctor: checks that each end in findings. The checks read files themselves (under
 * a root prefix, so that the tests can point them at a fake tree) and the daemon's answers over
 * D-Bus when it runs; a check never stops at a file it cannot read, it says so. */

typedef enum Severity {
        SEVERITY_OK,
        SEVERITY_INFO,
        SEVERITY_WARNING,
        SEVERITY_ERROR,
        _SEVERITY_MAX,
} Severity;

const char *severity_to_string(Severity s);

typedef struct Finding {
        Severity severity;
        const char *check; /* static: kernel, cmdline, auto-online, agents, hot-add, daemon, blocks */
        char *text;
        char *fix; /* one line, or NULL when there is nothing to do */
} Finding;

/* What the daemon would do, from its answers on the bus or from its configuration. */
typedef struct DaemonFacts {
        bool running;
        int pid;
        char *mode;       /* KernelAutoOnline= in effect; NULL when not known */
        bool lock_memory; /* LockMemory= */
        bool mode_from_bus;
} DaemonFacts;

typedef struct Doctor {
        const char *root; /* prefix of every path read, "" for the machine itself */
        bool privileged;  /* running as root: nothing is hidden from us */
        DaemonFacts daemon;
        char *release;      /* the running kernel's, from proc/sys/kernel/osrelease */
        char *kconfig;      /* the kernel's config text, NULL when none could be read */
        char *kconfig_from; /* where it was read */
        char *cmdline;      /* proc/cmdline, "" when it could not be read */
        Finding *findings;
        size_t n_findings;
} Doctor;

void doctor_done(Doctor *d);

/* Adds a finding; fix may be NULL. Returns 0 or -ENOMEM. */
int doctor_add(Doctor *d, Severity severity, const char *check, const char *fix, const char *format, ...)
        _printf_(5, 6);

/* The highest severity found. */
Severity doctor_worst(const Doctor *d);

/* root + path, for path absolute. */
int doctor_path(const Doctor *d, const char *path, char **ret);

/* A small file under the root, NUL-terminated, trailing newlines removed: -ENOENT and friends when
 * it cannot be read. */
int doctor_read_line(const Doctor *d, const char *path, char **ret);
/* The whole of a file under the root, capped. */
int doctor_read_file(const Doctor *d, const char *path, size_t max, char **ret);
/* Whether a path under the root exists. */
bool doctor_exists(const Doctor *d, const char *path);

/* The value of a kernel option in a kernel config text: "y", "m", a string, or NULL when it is
 * not set. ret is a copy (strip quotes yourself). */
int kconfig_get(const char *config, const char *option, char **ret);

/* The value of key=value on a kernel command line, the last one as the kernel takes it, or NULL;
 * for a bare word (movable_node), "" when present. */
int cmdline_get(const char *cmdline, const char *key, char **ret);

/* A value of a "Key=value" line of memhotplugd --check-config's output, or NULL. */
int check_config_get(const char *dump, const char *key, char **ret);

/* The checks, in the order they run (each adds findings; returns -ENOMEM only). The daemon's
 * check comes first: what it runs with decides how the kernel's settings are read. */
int doctor_check_daemon_config(Doctor *d, const char *daemon_binary);
int doctor_load_kernel(Doctor *d);
int doctor_check_kernel(Doctor *d);
int doctor_check_auto_online(Doctor *d);
int doctor_check_agents(Doctor *d);
int doctor_check_hot_add(Doctor *d);

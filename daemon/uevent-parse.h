/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* One uevent as the kernel sends it on its netlink group: "ACTION@DEVPATH", then KEY=VALUE
 * strings, each ended by a NUL. Only what the daemon uses; the pointers are into the message. */
typedef struct Uevent {
        const char *action;
        const char *subsystem;
        const char *sysname; /* DEVPATH's last component: "memory42", "dax0.0" */
} Uevent;

/* Parses the n bytes at buf (buf[n] must be a NUL the caller added). -EBADMSG for a message that
 * is not a kernel uevent or lacks ACTION, DEVPATH or SUBSYSTEM. */
int uevent_parse(const char *buf, size_t n, Uevent *ret);

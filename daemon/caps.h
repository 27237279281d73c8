/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The capabilities the daemon holds. It needs CAP_SYS_ADMIN only to open /proc/iomem at start
 * (virtio-mem.h), and gives it up before it handles any event. */

/* Whether CAP_SYS_ADMIN is in the effective set now. */
bool caps_have_sys_admin(void);
/* Removes CAP_SYS_ADMIN from the effective, permitted and inheritable sets, for good (the service's
 * NoNewPrivileges= and bounding set keep it from coming back). 0 also when it was not there. */
int caps_drop_sys_admin(void);

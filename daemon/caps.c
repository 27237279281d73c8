/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

/* capget()/capset() directly: libcap for two calls is not worth a dependency. The service's
 * seccomp filter allows capset (units/memhotplugd.service.in). */

#define SYS_ADMIN_WORD (CAP_SYS_ADMIN / 32)
#define SYS_ADMIN_BIT  (1U << (CAP_SYS_ADMIN % 32))

static int get(struct __user_cap_data_struct data[static 2])
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

        return syscall(SYS_capget, &h, data) < 0 ? -errno : 0;
}

bool caps_have_sys_admin(void)
{
        struct __user_cap_data_struct data[2] = {};

        return get(data) >= 0 && (data[SYS_ADMIN_WORD].effective & SYS_ADMIN_BIT);
}

int caps_drop_sys_admin(void)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};
        int r;

        r = get(data);
        if (r < 0)
                return r;
        if (!(data[SYS_ADMIN_WORD].permitted & SYS_ADMIN_BIT))
                return 0;
        data[SYS_ADMIN_WORD].effective &= ~SYS_ADMIN_BIT;
        data[SYS_ADMIN_WORD].permitted &= ~SYS_ADMIN_BIT;
        data[SYS_ADMIN_WORD].inheritable &= ~SYS_ADMIN_BIT;
        return syscall(SYS_capset, &h, data) < 0 ? -errno : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "uevent-parse.h"

/* The value of a KEY=VALUE string, or NULL if s is not key's. */
static const char *value_of(const char *s, const char *key, size_t key_len)
{
        return strncmp(s, key, key_len) == 0 ? s + key_len : NULL;
}

int uevent_parse(const char *buf, size_t n, Uevent *ret)
{
        const char *action = NULL, *devpath = NULL, *subsystem = NULL, *sysname;
        const char *p, *end;

        assert(buf);
        assert(ret);

        end = buf + n;

        /* The header: udevd's messages on its own group start with "libudev" and a NUL instead. */
        p = memchr(buf, '\0', n);
        if (!p || !memchr(buf, '@', (size_t)(p - buf)))
                return -EBADMSG;
        for (p++; p < end; p += strlen(p) + 1) {
                const char *v;

                if ((v = value_of(p, "ACTION=", 7)))
                        action = v;
                else if ((v = value_of(p, "DEVPATH=", 8)))
                        devpath = v;
                else if ((v = value_of(p, "SUBSYSTEM=", 10)))
                        subsystem = v;
        }
        if (!action || !devpath || !subsystem || !*action || !*subsystem)
                return -EBADMSG;
        sysname = strrchr(devpath, '/');
        sysname = sysname ? sysname + 1 : devpath;
        if (!*sysname)
                return -EBADMSG;
        *ret = (Uevent){ .action = action, .subsystem = subsystem, .sysname = sysname };
        return 0;
}

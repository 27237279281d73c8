/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uevent-parse.h"

/* A message off the kernel's uevent group, as monitor.c hands it over: the bytes received, then
 * the NUL it adds. Besides crashes, checks that what is returned lies inside the message and that
 * the device name has no '/'. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf;
        Uevent u;

        buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        if (uevent_parse(buf, size, &u) >= 0) {
                const char *f[] = { u.action, u.subsystem, u.sysname };

                for (size_t i = 0; i < 3; i++)
                        if (f[i] < buf || f[i] > buf + size || !*f[i])
                                abort();
                if (strchr(u.sysname, '/'))
                        abort();
        }
        free(buf);
        return 0;
}

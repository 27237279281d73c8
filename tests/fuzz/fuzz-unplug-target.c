/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse-util.h"
#include "unplug-target.h"

/* An unplug target as PrepareUnplug receives it from root on the bus (daemon/unplug-target.c).
 * Besides crashes, checks that ranges come out ordered and bounded, and that a range read back
 * from how it is printed is the same range. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        UnplugTarget t, again;
        char *s, buf[64];
        int r;

        /* A D-Bus string has no NUL inside. */
        s = strndup((const char *)data, size);
        if (!s)
                return 0;
        r = unplug_target_parse(s, &t);
        if (r >= 0)
                switch (t.kind) {
                case UNPLUG_BLOCKS:
                        if (t.first > t.last || t.last > BLOCK_INDEX_MAX)
                                abort();
                        snprintf(buf, sizeof(buf), "%u-%u", t.first, t.last);
                        if (unplug_target_parse(buf, &again) < 0 || again.kind != UNPLUG_BLOCKS ||
                            again.first != t.first || again.last != t.last)
                                abort();
                        break;
                case UNPLUG_ADDRESSES:
                        if (t.start > t.end)
                                abort();
                        snprintf(buf, sizeof(buf), "0x%" PRIx64 "-0x%" PRIx64, t.start, t.end);
                        if (unplug_target_parse(buf, &again) < 0 || again.kind != UNPLUG_ADDRESSES ||
                            again.start != t.start || again.end != t.end)
                                abort();
                        break;
                case UNPLUG_DAX:
                case UNPLUG_VIRTIO:
                case UNPLUG_ACPI:
                        break;
                default:
                        abort();
                }
        else if (r != -EINVAL && r != -ENOMEM)
                abort();
        free(s);
        return 0;
}

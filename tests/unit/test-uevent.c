/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's uevent messages as monitor.c reads them off the kernel's netlink group with
 * UeventSource=kernel (the VM suite reads them from a real kernel). */
#include <string.h>

#include "macro.h"
#include "tap.h"
#include "uevent-parse.h"

/* The message as received (n bytes), with the NUL monitor.c adds after it. */
static int parse(const char *msg, size_t n, Uevent *u)
{
        static char buf[512];

        memcpy(buf, msg, n);
        buf[n] = '\0';
        return uevent_parse(buf, n, u);
}

#define MSG(s) s, sizeof(s) - 1

int main(void)
{
        Uevent u = {};

        tap_is_int(parse(MSG("add@/devices/system/memory/memory32\0ACTION=add\0"
                             "DEVPATH=/devices/system/memory/memory32\0SUBSYSTEM=memory\0SEQNUM=1910\0"),
                         &u),
                   0, "a block's add");
        tap_ok(streq(u.action, "add") && streq(u.subsystem, "memory") && streq(u.sysname, "memory32"),
               "action, subsystem and name: %s %s %s", u.action, u.subsystem, u.sysname);

        tap_is_int(parse(MSG("online@/devices/platform/ACPI0012:00/ndbus0/region0/dax0.0\0SEQNUM=7\0"
                             "SUBSYSTEM=dax\0DEVPATH=/devices/platform/ACPI0012:00/ndbus0/region0/dax0.0\0"
                             "ACTION=online\0"),
                         &u),
                   0, "a dax device's, the keys in another order");
        tap_ok(streq(u.action, "online") && streq(u.subsystem, "dax") && streq(u.sysname, "dax0.0"),
               "its name is DEVPATH's last part: %s", u.sysname);

        /* The last string without its NUL (a message cut by the sender): the added NUL ends it. */
        tap_is_int(parse(MSG("remove@/devices/system/memory/memory7\0ACTION=remove\0"
                             "DEVPATH=/devices/system/memory/memory7\0SUBSYSTEM=memory"),
                         &u),
                   0, "the last key without its NUL");
        tap_ok(streq(u.subsystem, "memory"), "read up to the end of the message");

        tap_is_int(parse(MSG("libudev\0\xfe\xed\xca\xfe"), &u), -EBADMSG,
                   "udevd's message format is not the kernel's");
        tap_is_int(parse(MSG("add@/devices/system/memory/memory1\0ACTION=add\0"
                             "DEVPATH=/devices/system/memory/memory1\0"),
                         &u),
                   -EBADMSG, "no SUBSYSTEM");
        tap_is_int(parse(MSG("add@/x\0ACTION=add\0SUBSYSTEM=memory\0"), &u), -EBADMSG, "no DEVPATH");
        tap_is_int(parse(MSG("add@/x\0DEVPATH=/x\0SUBSYSTEM=memory\0"), &u), -EBADMSG, "no ACTION");
        tap_is_int(parse(MSG("add@/devices/\0ACTION=add\0DEVPATH=/devices/\0SUBSYSTEM=memory\0"), &u),
                   -EBADMSG, "DEVPATH without a name");
        tap_is_int(parse(MSG("ACTION=add\0DEVPATH=/devices/system/memory/memory1\0SUBSYSTEM=memory\0"), &u),
                   -EBADMSG, "no ACTION@DEVPATH header");
        tap_is_int(parse(MSG("add@/devices/system/memory/memory1"), &u), -EBADMSG, "a header only");
        tap_is_int(parse(MSG(""), &u), -EBADMSG, "nothing");

        printf("1..%u\n", tap_n);
        return tap_failed > 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dax-hotplug.h"
#include "macro.h"
#include "tap.h"

/* daxX.Y/state's words, which of them the kernel takes as writes, and when blocks agree with it. */

static void test_words(void)
{
        for (DaxHotplug h = 0; h < _DAX_HOTPLUG_MAX; h++)
                tap_ok(dax_hotplug_from_string(dax_hotplug_to_string(h)) == h, "%s round-trips",
                       dax_hotplug_to_string(h));
        tap_ok(dax_hotplug_from_string("movable") == _DAX_HOTPLUG_INVALID, "a config word is not a state");
        tap_ok(dax_hotplug_from_string(NULL) == _DAX_HOTPLUG_INVALID, "NULL is invalid");
        tap_ok(!dax_hotplug_writable(DAX_HOTPLUG_OFFLINE), "offline is not writable (the kernel: EINVAL)");
        tap_ok(!dax_hotplug_writable(DAX_HOTPLUG_NONE), "none is not a word to write");
        tap_ok(dax_hotplug_writable(DAX_HOTPLUG_UNPLUGGED) &&
                       dax_hotplug_writable(DAX_HOTPLUG_ONLINE_MOVABLE),
               "unplugged and online_movable are writable");
        tap_ok(dax_hotplug_for_online_type(ONLINE_TYPE_MOVABLE) == DAX_HOTPLUG_ONLINE_MOVABLE &&
                       dax_hotplug_for_online_type(ONLINE_TYPE_KERNEL) == DAX_HOTPLUG_ONLINE_KERNEL &&
                       dax_hotplug_for_online_type(ONLINE_TYPE_ONLINE) == DAX_HOTPLUG_ONLINE,
               "online types map to their state");
        tap_ok(dax_hotplug_for_online_type(ONLINE_TYPE_OFFLINE) < 0 &&
                       dax_hotplug_for_online_type(ONLINE_TYPE_AUTO_MOVABLE) < 0,
               "offline and auto-movable have no whole-device state");
}

static void test_agrees(void)
{
        const DaxBlockTally none = {}, offline = { .present = 4 },
                            movable = { .present = 4, .online = 4, .movable = 4 },
                            normal = { .present = 4, .online = 4, .normal = 4 },
                            by_hand = { .present = 4, .online = 3, .movable = 3 };

        tap_ok(dax_hotplug_agrees(DAX_HOTPLUG_NONE, &by_hand), "no file agrees with anything");
        tap_ok(dax_hotplug_agrees(DAX_HOTPLUG_UNPLUGGED, &none), "unplugged: no block");
        tap_ok(!dax_hotplug_agrees(DAX_HOTPLUG_UNPLUGGED, &offline), "unplugged with blocks disagrees");
        tap_ok(dax_hotplug_agrees(DAX_HOTPLUG_OFFLINE, &offline), "offline: every block offline");
        tap_ok(!dax_hotplug_agrees(DAX_HOTPLUG_OFFLINE, &movable),
               "offline with blocks onlined one by one disagrees (daxctl: inconsistent)");
        tap_ok(dax_hotplug_agrees(DAX_HOTPLUG_ONLINE_MOVABLE, &movable), "online_movable: all Movable");
        tap_ok(!dax_hotplug_agrees(DAX_HOTPLUG_ONLINE_MOVABLE, &normal),
               "online_movable in Normal disagrees");
        tap_ok(!dax_hotplug_agrees(DAX_HOTPLUG_ONLINE_MOVABLE, &by_hand),
               "one block offlined by hand disagrees");
        tap_ok(dax_hotplug_agrees(DAX_HOTPLUG_ONLINE_KERNEL, &normal), "online_kernel: all Normal");
        tap_ok(dax_hotplug_agrees(DAX_HOTPLUG_ONLINE, &normal) &&
                       dax_hotplug_agrees(DAX_HOTPLUG_ONLINE, &movable),
               "online: all online, any zone");
        tap_ok(!dax_hotplug_agrees(DAX_HOTPLUG_ONLINE, &none), "online without blocks disagrees");
}

int main(void)
{
        test_words();
        test_agrees();
        return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "dax-hotplug.h"
#include "macro.h"

static const char *const table[_DAX_HOTPLUG_MAX] = {
        [DAX_HOTPLUG_NONE] = "none",
        [DAX_HOTPLUG_UNPLUGGED] = "unplugged",
        [DAX_HOTPLUG_OFFLINE] = "offline",
        [DAX_HOTPLUG_ONLINE] = "online",
        [DAX_HOTPLUG_ONLINE_KERNEL] = "online_kernel",
        [DAX_HOTPLUG_ONLINE_MOVABLE] = "online_movable",
};

const char *dax_hotplug_to_string(DaxHotplug h)
{
        return h >= 0 && h < _DAX_HOTPLUG_MAX ? table[h] : NULL;
}

DaxHotplug dax_hotplug_from_string(const char *s)
{
        if (!s)
                return _DAX_HOTPLUG_INVALID;
        for (DaxHotplug h = 0; h < _DAX_HOTPLUG_MAX; h++)
                if (streq(s, table[h]))
                        return h;
        return _DAX_HOTPLUG_INVALID;
}

bool dax_hotplug_writable(DaxHotplug h)
{
        return h == DAX_HOTPLUG_UNPLUGGED || h == DAX_HOTPLUG_ONLINE || h == DAX_HOTPLUG_ONLINE_KERNEL ||
               h == DAX_HOTPLUG_ONLINE_MOVABLE;
}

DaxHotplug dax_hotplug_for_online_type(OnlineType t)
{
        switch (t) {
        case ONLINE_TYPE_ONLINE:
                return DAX_HOTPLUG_ONLINE;
        case ONLINE_TYPE_KERNEL:
                return DAX_HOTPLUG_ONLINE_KERNEL;
        case ONLINE_TYPE_MOVABLE:
                return DAX_HOTPLUG_ONLINE_MOVABLE;
        default:
                /* offline is not writable; auto-movable and platform are decided per block. */
                return _DAX_HOTPLUG_INVALID;
        }
}

bool dax_hotplug_agrees(DaxHotplug h, const DaxBlockTally *t)
{
        assert(t);

        switch (h) {
        case DAX_HOTPLUG_NONE:
                return true;
        case DAX_HOTPLUG_UNPLUGGED:
                return t->present == 0;
        case DAX_HOTPLUG_OFFLINE:
                return t->present > 0 && t->online == 0;
        case DAX_HOTPLUG_ONLINE:
                return t->present > 0 && t->online == t->present;
        case DAX_HOTPLUG_ONLINE_KERNEL:
                return t->present > 0 && t->normal == t->present;
        case DAX_HOTPLUG_ONLINE_MOVABLE:
                return t->present > 0 && t->movable == t->present;
        default:
                return false;
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "platform.h"
#include "sysfs.h"

/* The machine's facts for Online=platform, from sysfs under the daemon's root (so a test tree
 * is a bare-metal x86_64 machine unless it says otherwise) and uname(2): the DMI vendor,
 * /sys/hypervisor/type, and the balloon drivers bound to a device. */
int platform_facts_read(Sysfs *s, PlatformFacts *ret);

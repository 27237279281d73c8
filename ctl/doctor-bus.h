/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "doctor.h"

/* Whether memhotplugd runs, and what it says: the mode it took, a failed reload, drift, the
 * blocks that failed. bus may be NULL (no system bus). */
int doctor_check_bus(Doctor *d, sd_bus *bus);

/* What the running daemon holds: CAP_SYS_ADMIN at start, locked memory, /proc/iomem (root only). */
int doctor_check_process(Doctor *d);

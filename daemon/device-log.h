/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "devices.h"
#include "macro.h"

/* Journal entries about a device carry where it comes from (DAX_DEVICE=, DAX_SOURCE=,
 * CXL_REGION=, CXL_SERIAL=, NVDIMM_UUID=), so "journalctl DAX_DEVICE=dax0.0" or
 * "journalctl CXL_SERIAL=0x…" find it. The message is prefixed "daxX.Y: ". Returns -|error|. */
_printf_(5, 6) int log_device(int level, int error, const char *message_id, const Device *d,
                              const char *format, ...);

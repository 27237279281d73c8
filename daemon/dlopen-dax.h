/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cxl/libcxl.h>
#include <daxctl/libdaxctl.h>

/* libdaxctl and libcxl are loaded on first use, not at start: they pull in libkmod and libcrypto,
 * which would more than double the daemon's resident memory on the many machines that never see a
 * dax device. Missing libraries make device conversion unavailable, nothing else. */

#define DLSYM_DECLARE(f) extern typeof(f) *sym_##f

DLSYM_DECLARE(daxctl_new);
DLSYM_DECLARE(daxctl_unref);
DLSYM_DECLARE(daxctl_set_log_fn);
DLSYM_DECLARE(daxctl_region_get_first);
DLSYM_DECLARE(daxctl_region_get_next);
DLSYM_DECLARE(daxctl_dev_get_first);
DLSYM_DECLARE(daxctl_dev_get_next);
DLSYM_DECLARE(daxctl_dev_get_devname);
DLSYM_DECLARE(daxctl_dev_has_online_memory);
DLSYM_DECLARE(daxctl_dev_disable);
DLSYM_DECLARE(daxctl_dev_enable_ram);
DLSYM_DECLARE(daxctl_dev_enable_devdax);

DLSYM_DECLARE(cxl_new);
DLSYM_DECLARE(cxl_unref);
DLSYM_DECLARE(cxl_set_log_fn);
DLSYM_DECLARE(cxl_bus_get_first);
DLSYM_DECLARE(cxl_bus_get_next);
DLSYM_DECLARE(cxl_bus_get_port);
DLSYM_DECLARE(cxl_decoder_get_first);
DLSYM_DECLARE(cxl_decoder_get_next);
DLSYM_DECLARE(cxl_region_get_first);
DLSYM_DECLARE(cxl_region_get_next);
DLSYM_DECLARE(cxl_region_get_devname);
DLSYM_DECLARE(cxl_mapping_get_first);
DLSYM_DECLARE(cxl_mapping_get_next);
DLSYM_DECLARE(cxl_mapping_get_decoder);
DLSYM_DECLARE(cxl_mapping_get_position);
DLSYM_DECLARE(cxl_decoder_get_memdev);
DLSYM_DECLARE(cxl_memdev_get_serial);

/* 0 once loaded; -EOPNOTSUPP if the library or a symbol is missing. */
int dlopen_daxctl(void);
int dlopen_cxl(void);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"

/* Reads daxctl's own device configuration (dir/\*.conf, sections [reconfigure-device NAME] with
 * nvdimm.uuid, mode, online, movable) into [Dax daxctl:NAME] rules after the native ones, so a
 * user of daxctl's udev hook can switch without rewriting anything. On failure *ret_error_file
 * (may be NULL) is the file or directory at fault. */
int daxctl_import(Config *c, const char *dir, char **ret_error, char **ret_error_file);

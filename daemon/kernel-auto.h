/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Coordination with the kernel's own onlining of new blocks (auto_online_blocks), as
 * KernelAutoOnline= says: takeover sets it to offline while we run and restores it on stop; the
 * original value is kept in the runtime directory so a restart after a crash restores it too. */
int kernel_auto_apply(Manager *m);
void kernel_auto_restore(Manager *m);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-contract.h"
#include "manager.h"

/* Connects to the system bus (waiting for it to appear, so that onlining at boot never waits for
 * D-Bus), exports the objects and requests the name. */
int bus_setup(Manager *m);
void bus_free(Manager *m);
/* Prints the introspection XML of every interface (--bus-introspect). */
int bus_introspect(FILE *f);

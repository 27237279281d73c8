/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-contract.h"
#include "manager.h"

/* Connects to the system bus (waiting for it to appear, so that onlining at boot never waits for
 * D-Bus), exports the objects, requests the name and subscribes to the core's outcomes. The Bus is
 * the bus layer's own: the Manager holds it and hands it back to bus_free(). */
int bus_setup(Manager *m, Bus **ret);
Bus *bus_free(Bus *b);
/* Prints the introspection XML of every interface (--bus-introspect). */
int bus_introspect(FILE *f);

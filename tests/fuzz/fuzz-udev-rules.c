/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"

/* The udev rules scanner (daemon/agents.c) over any text, as a rules file in a rules directory
 * holds it: tokens, quotes and escapes, continued lines, LABEL and GOTO. Besides crashes, leaks and
 * slow inputs (the run's -timeout), checks that it answers with one of its own sentences. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *what;

        what = agents_rules_races((const char *)data, size);
        if (what && !strstr(what, "memory blocks itself"))
                abort();
        return 0;
}

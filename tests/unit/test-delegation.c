/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <unistd.h>

#include "delegation.h"
#include "macro.h"
#include "tap.h"

/* KernelAutoOnline=delegate: which policies the kernel's own knobs can carry, and which rule stops
 * one that they cannot. */

static char dir[] = "/tmp/memhotplugd-test-delegation.XXXXXX";

#include "conf-files.h"

static const struct {
        const char *name;
        const char *config;
        const char *auto_online_blocks; /* NULL: not delegable */
        const char *online_policy;
        unsigned ratio;
        bool numa_aware;
        const char *why; /* a part of the reason when not delegable */
} cases[] = {
        { "movable everywhere", "[Memory]\nOnline=movable\n", "online_movable", NULL, 0, false, NULL },
        { "kernel everywhere", "[Memory]\nOnline=kernel\n", "online_kernel", NULL, 0, false, NULL },
        { "the kernel's zone", "[Memory]\nOnline=online\n", "online", "contig-zones", 0, false, NULL },
        { "offline", "[Memory]\nOnline=offline\n", "offline", NULL, 0, false, NULL },
        { "auto-movable with its ratio", "[Memory]\nOnline=auto-movable\nMovableRatio=250\nNumaAware=no\n",
          "online", "auto-movable", 250, false, NULL },
        { "a node that says the same", "[Memory]\nOnline=movable\n[Node 1]\nOnline=movable\n",
          "online_movable", NULL, 0, false, NULL },
        { "a node that differs", "[Memory]\nOnline=movable\n[Node 1]\nOnline=kernel\n", NULL, NULL, 0, false,
          "[Node 1] Online=kernel differs" },
        { "a node with its own ratio", "[Memory]\nOnline=auto-movable\n[Node 2]\nMovableRatio=100\n", NULL,
          NULL, 0, false, "[Node 2] sets its own MovableRatio=" },
        { "dax left devdax: its Online= does not count", "[Memory]\nOnline=kernel\n[Dax]\nOnline=movable\n",
          "online_kernel", NULL, 0, false, NULL },
        { "dax converted into another zone",
          "[Memory]\nOnline=kernel\n[Dax]\nMode=system-ram\nOnline=movable\n", NULL, NULL, 0, false,
          "[Dax] Online=movable differs" },
        { "a dax rule converting into another zone",
          "[Memory]\nOnline=movable\n[Dax cxl]\nMatchSource=cxl\nMode=system-ram\nOnline=kernel\n", NULL,
          NULL, 0, false, "[Dax cxl] Online=kernel differs" },
};

int main(void)
{
        _cleanup_(freep) char *main_conf = NULL;

        if (!mkdtemp(dir))
                return 1;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *error = NULL;
                char why[256] = "";
                KernelKnobs k;
                bool ok;

                if (load(cases[i].config, &c, &error) < 0) {
                        tap_ok(false, "%s: config loads (%s)", cases[i].name, strna(error));
                        continue;
                }
                ok = delegation_knobs(c, &k, why, sizeof(why));
                if (!cases[i].auto_online_blocks) {
                        tap_ok(!ok && strstr(why, cases[i].why), "%s: not delegated (%s)", cases[i].name,
                               why);
                        continue;
                }
                tap_ok(ok && streq(k.auto_online_blocks, cases[i].auto_online_blocks) &&
                               streq_ptr(k.online_policy, cases[i].online_policy) &&
                               (!cases[i].ratio || (k.auto_movable_ratio == cases[i].ratio &&
                                                    k.auto_movable_numa_aware == cases[i].numa_aware)),
                       "%s: auto_online_blocks=%s online_policy=%s ratio=%u numa_aware=%d", cases[i].name,
                       ok ? k.auto_online_blocks : "-", ok ? strna(k.online_policy) : "-",
                       ok ? k.auto_movable_ratio : 0, ok && k.auto_movable_numa_aware);
        }
        if (asprintf(&main_conf, "%s/main.conf", dir) >= 0)
                unlink(main_conf);
        rmdir(dir);
        return tap_done();
}

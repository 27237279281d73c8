/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/stat.h>

#include "config.h"
#include "daxctl-import.h"
#include "fuzz-files.h"

/* daxctl's [reconfigure-device] files, read into rules. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(freep) char *error = NULL, *error_file = NULL;
        static char first[128], dir[128];
        Config c;
        int r;

        if (!first[0]) {
                snprintf(dir, sizeof(dir), "%s/daxctl.conf.d", fuzz_setup());
                snprintf(first, sizeof(first), "%s/daxctl.conf", dir);
                mkdir(dir, 0755);
        }
        fuzz_split(data, size, first, dir);

        config_init_defaults(&c);
        r = daxctl_import(&c, dir, &error, &error_file);
        if (r < 0 && !error && r != -ENOMEM)
                abort();
        for (size_t i = 0; i < c.n_dax_rules; i++) {
                if (!c.dax_rules[i].match_nvdimm_uuid || !uuid_is_valid(c.dax_rules[i].match_nvdimm_uuid))
                        abort(); /* a rule is made only from a valid nvdimm.uuid */
                dax_rule_done(&c.dax_rules[i]);
        }
        free(c.dax_rules);
        dax_rule_done(&c.dax);
        return 0;
}

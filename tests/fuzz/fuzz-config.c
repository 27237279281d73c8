/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/stat.h>

#include "config.h"
#include "fuzz-files.h"

/* The whole config load: a main file and its drop-ins, then --check-config's dump. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *error_file = NULL;
        static char main_conf[128], dropins[128];
        static FILE *null;
        const char *dir = fuzz_setup();
        int r;

        if (!null) {
                snprintf(main_conf, sizeof(main_conf), "%s/main.conf", dir);
                snprintf(dropins, sizeof(dropins), "%s/main.conf.d", dir);
                mkdir(dropins, 0755);
                null = fopen("/dev/null", "we");
                if (!null)
                        abort();
        }
        fuzz_split(data, size, main_conf, dropins);

        r = config_load_full(main_conf, true, NULL, NULL, &c, &error, &error_file);
        if (r < 0) {
                /* Every refusal says why, and blames a file. */
                if (!error && r != -ENOMEM)
                        abort();
                return 0;
        }
        if (!c || error)
                abort();
        config_dump(c, null);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "acpi-memory-links.h"
#include "parse-util.h"

int acpi_memory_links(DIR *d, int (*fn)(unsigned index, void *userdata), void *userdata)
{
        struct dirent *de;
        int r;

        assert(d);
        assert(fn);

        while ((de = readdir(d))) {
                char target[PATH_MAX];
                const char *base;
                unsigned index;
                ssize_t n;

                if (strncmp(de->d_name, "physical_node", 13) != 0)
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                base = strrchr(target, '/');
                if (parse_block_name(base ? base + 1 : target, &index) < 0)
                        continue; /* linked to something that is not a memory block */
                r = fn(index, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi-memory-links.h"
#include "acpi-memory.h"
#include "macro.h"

#define ACPI_MEMORY_HID "PNP0C80:"

void acpi_memory_done(AcpiMemory *a)
{
        assert(a);

        free(a->of_block);
        free(a->names);
        free(a->n_members);
        *a = (AcpiMemory){};
}

static int map_block(AcpiMemory *a, unsigned index, int device)
{
        if (index >= a->n_blocks) {
                size_t n = (size_t)index + 1 > a->n_blocks * 2 ? (size_t)index + 1 : a->n_blocks * 2;
                int *p = realloc(a->of_block, n * sizeof(int));

                if (!p)
                        return -ENOMEM;
                for (size_t i = a->n_blocks; i < n; i++)
                        p[i] = -1;
                a->of_block = p;
                a->n_blocks = n;
        }
        a->of_block[index] = device;
        a->n_members[device]++;
        return 0;
}

static int add_device(AcpiMemory *a, const char *name)
{
        char(*names)[24];
        size_t *members;

        names = realloc(a->names, (a->n_devices + 1) * sizeof(*names));
        if (!names)
                return -ENOMEM;
        a->names = names;
        members = realloc(a->n_members, (a->n_devices + 1) * sizeof(size_t));
        if (!members)
                return -ENOMEM;
        a->n_members = members;
        /* ACPI device names are "PNP0C80:NN": far shorter than the room. */
        snprintf(a->names[a->n_devices], sizeof(a->names[0]), "%.*s", (int)sizeof(a->names[0]) - 1, name);
        a->n_members[a->n_devices] = 0;
        return (int)a->n_devices++;
}

int acpi_memory_device_blocks(Sysfs *s, const char *name, int (*fn)(unsigned index, void *userdata),
                              void *userdata)
{
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(freep) char *path = NULL;
        int r;

        assert(s);
        assert(name);
        assert(fn);

        if (strchr(name, '/') || streq(name, "..") || streq(name, "."))
                return -ENODEV;
        if (asprintf(&path, "bus/acpi/devices/%s", name) < 0)
                return -ENOMEM;
        r = sysfs_opendir(s, path, &d);
        if (r < 0)
                return r;
        return acpi_memory_links(d, fn, userdata);
}

typedef struct MapBlock {
        AcpiMemory *map;
        int device;
} MapBlock;

static int map_one(unsigned index, void *userdata)
{
        MapBlock *mb = userdata;

        return map_block(mb->map, index, mb->device);
}

int acpi_memory_read(Sysfs *s, AcpiMemory *ret)
{
        _cleanup_(closedirp) DIR *d = NULL;
        AcpiMemory a = {};
        struct dirent *de;
        int r;

        assert(s);
        assert(ret);

        r = sysfs_opendir(s, "bus/acpi/devices", &d);
        if (r == -ENOENT) {
                *ret = a;
                return 0;
        }
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                int device;

                if (strncmp(de->d_name, ACPI_MEMORY_HID, strlen(ACPI_MEMORY_HID)) != 0)
                        continue;
                device = add_device(&a, de->d_name);
                if (device < 0) {
                        acpi_memory_done(&a);
                        return device;
                }
                r = acpi_memory_device_blocks(s, de->d_name, map_one,
                                              &(MapBlock){ .map = &a, .device = device });
                if (r < 0 && r != -ENOENT) {
                        acpi_memory_done(&a);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

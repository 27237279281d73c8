/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "dlopen-dax.h"

#define DLSYM_DEFINE(f) typeof(f) *sym_##f
#define DLSYM_ENTRY(f)                                                                                      \
        {                                                                                                   \
                (void **)&sym_##f, #f                                                                       \
        }

DLSYM_DEFINE(daxctl_new);
DLSYM_DEFINE(daxctl_unref);
DLSYM_DEFINE(daxctl_set_log_fn);
DLSYM_DEFINE(daxctl_region_get_first);
DLSYM_DEFINE(daxctl_region_get_next);
DLSYM_DEFINE(daxctl_dev_get_first);
DLSYM_DEFINE(daxctl_dev_get_next);
DLSYM_DEFINE(daxctl_dev_get_devname);
DLSYM_DEFINE(daxctl_dev_has_online_memory);
DLSYM_DEFINE(daxctl_dev_disable);
DLSYM_DEFINE(daxctl_dev_enable_ram);
DLSYM_DEFINE(daxctl_dev_enable_devdax);

DLSYM_DEFINE(cxl_new);
DLSYM_DEFINE(cxl_unref);
DLSYM_DEFINE(cxl_set_log_fn);
DLSYM_DEFINE(cxl_bus_get_first);
DLSYM_DEFINE(cxl_bus_get_next);
DLSYM_DEFINE(cxl_bus_get_port);
DLSYM_DEFINE(cxl_decoder_get_first);
DLSYM_DEFINE(cxl_decoder_get_next);
DLSYM_DEFINE(cxl_region_get_first);
DLSYM_DEFINE(cxl_region_get_next);
DLSYM_DEFINE(cxl_region_get_devname);
DLSYM_DEFINE(cxl_mapping_get_first);
DLSYM_DEFINE(cxl_mapping_get_next);
DLSYM_DEFINE(cxl_mapping_get_decoder);
DLSYM_DEFINE(cxl_mapping_get_position);
DLSYM_DEFINE(cxl_decoder_get_memdev);
DLSYM_DEFINE(cxl_memdev_get_serial);

typedef struct Symbol {
        void **ptr;
        const char *name;
} Symbol;

static int load(const char *soname, void **handle, const Symbol *symbols, size_t n)
{
        void *dl;

        if (*handle)
                return 0;
        dl = dlopen(soname, RTLD_NOW | RTLD_NODELETE);
        if (!dl)
                return -EOPNOTSUPP;
        for (size_t i = 0; i < n; i++) {
                *symbols[i].ptr = dlsym(dl, symbols[i].name);
                if (!*symbols[i].ptr) {
                        dlclose(dl);
                        return -EOPNOTSUPP;
                }
        }
        *handle = dl;
        return 0;
}

int dlopen_daxctl(void)
{
        static void *handle;
        static const Symbol symbols[] = {
                DLSYM_ENTRY(daxctl_new),
                DLSYM_ENTRY(daxctl_unref),
                DLSYM_ENTRY(daxctl_set_log_fn),
                DLSYM_ENTRY(daxctl_region_get_first),
                DLSYM_ENTRY(daxctl_region_get_next),
                DLSYM_ENTRY(daxctl_dev_get_first),
                DLSYM_ENTRY(daxctl_dev_get_next),
                DLSYM_ENTRY(daxctl_dev_get_devname),
                DLSYM_ENTRY(daxctl_dev_has_online_memory),
                DLSYM_ENTRY(daxctl_dev_disable),
                DLSYM_ENTRY(daxctl_dev_enable_ram),
                DLSYM_ENTRY(daxctl_dev_enable_devdax),
        };

        return load("libdaxctl.so.1", &handle, symbols, sizeof(symbols) / sizeof(symbols[0]));
}

int dlopen_cxl(void)
{
        static void *handle;
        static const Symbol symbols[] = {
                DLSYM_ENTRY(cxl_new),
                DLSYM_ENTRY(cxl_unref),
                DLSYM_ENTRY(cxl_set_log_fn),
                DLSYM_ENTRY(cxl_bus_get_first),
                DLSYM_ENTRY(cxl_bus_get_next),
                DLSYM_ENTRY(cxl_bus_get_port),
                DLSYM_ENTRY(cxl_decoder_get_first),
                DLSYM_ENTRY(cxl_decoder_get_next),
                DLSYM_ENTRY(cxl_region_get_first),
                DLSYM_ENTRY(cxl_region_get_next),
                DLSYM_ENTRY(cxl_region_get_devname),
                DLSYM_ENTRY(cxl_mapping_get_first),
                DLSYM_ENTRY(cxl_mapping_get_next),
                DLSYM_ENTRY(cxl_mapping_get_decoder),
                DLSYM_ENTRY(cxl_mapping_get_position),
                DLSYM_ENTRY(cxl_decoder_get_memdev),
                DLSYM_ENTRY(cxl_memdev_get_serial),
        };

        return load("libcxl.so.1", &handle, symbols, sizeof(symbols) / sizeof(symbols[0]));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cxl/libcxl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cxl.h"
#include "macro.h"

/* libcxl logs to stderr by default; our callers report what matters. */
static void cxl_log_quiet(struct cxl_ctx *ctx, int priority, const char *file, int line, const char *fn,
                          const char *format, va_list args)
{
}

static void cxl_unrefp(struct cxl_ctx **ctx)
{
        if (*ctx)
                cxl_unref(*ctx);
}

static struct cxl_region *find_region(struct cxl_ctx *ctx, const char *name)
{
        struct cxl_bus *bus;

        /* Regions hang off the root decoders of each CXL root port. */
        cxl_bus_foreach(ctx, bus)
        {
                struct cxl_port *port = cxl_bus_get_port(bus);
                struct cxl_decoder *decoder;

                cxl_decoder_foreach(port, decoder)
                {
                        struct cxl_region *region;

                        cxl_region_foreach(decoder, region) if (streq_ptr(cxl_region_get_devname(region),
                                                                          name)) return region;
                }
        }
        return NULL;
}

int cxl_region_serials(const char *name, uint64_t **ret, size_t *ret_n)
{
        _cleanup_(cxl_unrefp) struct cxl_ctx *ctx = NULL;
        _cleanup_(freep) uint64_t *serials = NULL;
        struct cxl_memdev_mapping *mapping;
        struct cxl_region *region;
        size_t n = 0;
        int r;

        r = cxl_new(&ctx);
        if (r < 0)
                return r;
        cxl_set_log_fn(ctx, cxl_log_quiet);

        region = find_region(ctx, name);
        if (!region)
                return -ENOENT;

        cxl_mapping_foreach(region, mapping)
        {
                struct cxl_decoder *decoder = cxl_mapping_get_decoder(mapping);
                struct cxl_memdev *memdev = decoder ? cxl_decoder_get_memdev(decoder) : NULL;
                uint64_t *l;

                if (!memdev)
                        continue;
                l = realloc(serials, (n + 1) * sizeof(uint64_t));
                if (!l)
                        return -ENOMEM;
                serials = l;
                serials[n++] = cxl_memdev_get_serial(memdev);
        }

        *ret = TAKE_PTR(serials);
        *ret_n = n;
        return 0;
}

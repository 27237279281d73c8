/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cxl.h"
#include "dlopen-dax.h"
#include "macro.h"

/* libcxl logs to stderr by default; our callers report what matters. */
static void cxl_log_quiet(struct cxl_ctx *ctx, int priority, const char *file, int line, const char *fn,
                          const char *format, va_list args)
{
}

static void cxl_unrefp(struct cxl_ctx **ctx)
{
        if (*ctx)
                sym_cxl_unref(*ctx);
}

static struct cxl_region *find_region(struct cxl_ctx *ctx, const char *name)
{
        /* Regions hang off the root decoders of each CXL root port. */
        for (struct cxl_bus *bus = sym_cxl_bus_get_first(ctx); bus; bus = sym_cxl_bus_get_next(bus)) {
                struct cxl_port *port = sym_cxl_bus_get_port(bus);

                for (struct cxl_decoder *decoder = sym_cxl_decoder_get_first(port); decoder;
                     decoder = sym_cxl_decoder_get_next(decoder))
                        for (struct cxl_region *region = sym_cxl_region_get_first(decoder); region;
                             region = sym_cxl_region_get_next(region))
                                if (streq_ptr(sym_cxl_region_get_devname(region), name))
                                        return region;
        }
        return NULL;
}

int cxl_region_serials(const char *name, uint64_t **ret, size_t *ret_n)
{
        _cleanup_(cxl_unrefp) struct cxl_ctx *ctx = NULL;
        _cleanup_(freep) uint64_t *serials = NULL;
        struct cxl_memdev_mapping *mapping;
        struct cxl_region *region;
        size_t n = 0, k = 0;
        int r;

        assert(name);
        assert(ret);
        assert(ret_n);

        r = dlopen_cxl();
        if (r < 0)
                return r;
        r = sym_cxl_new(&ctx);
        if (r < 0)
                return r;
        sym_cxl_set_log_fn(ctx, cxl_log_quiet);

        region = find_region(ctx, name);
        if (!region)
                return -ENOENT;

        /* In interleave order (the mapping's position), which libcxl's list does not keep. */
        for (mapping = sym_cxl_mapping_get_first(region); mapping;
             mapping = sym_cxl_mapping_get_next(mapping)) {
                struct cxl_decoder *decoder = sym_cxl_mapping_get_decoder(mapping);
                struct cxl_memdev *memdev = decoder ? sym_cxl_decoder_get_memdev(decoder) : NULL;
                unsigned pos = sym_cxl_mapping_get_position(mapping);
                uint64_t *l;

                if (!memdev || pos > 1024)
                        continue;
                if (pos >= n) {
                        l = realloc(serials, (pos + 1) * sizeof(uint64_t));
                        if (!l)
                                return -ENOMEM;
                        for (size_t i = n; i <= pos; i++)
                                l[i] = UINT64_MAX;
                        serials = l;
                        n = pos + 1;
                }
                serials[pos] = sym_cxl_memdev_get_serial(memdev);
        }
        /* Positions without a memdev (an incomplete region) leave no gap. */
        for (size_t i = 0; i < n; i++)
                if (serials[i] != UINT64_MAX)
                        serials[k++] = serials[i];

        *ret = TAKE_PTR(serials);
        *ret_n = k;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <daxctl/libdaxctl.h>
#include <stdarg.h>

#include "dax-convert.h"
#include "macro.h"

static void daxctl_log_quiet(struct daxctl_ctx *ctx, int priority, const char *file, int line,
                             const char *fn, const char *format, va_list args)
{
}

static void daxctl_unrefp(struct daxctl_ctx **ctx)
{
        if (*ctx)
                daxctl_unref(*ctx);
}

static int find_dev(struct daxctl_ctx *ctx, const char *name, struct daxctl_dev **ret)
{
        struct daxctl_region *region;
        struct daxctl_dev *dev;

        daxctl_region_foreach(ctx, region)
                daxctl_dev_foreach(region, dev) if (streq_ptr(daxctl_dev_get_devname(dev), name))
        {
                *ret = dev;
                return 0;
        }
        return -ENODEV;
}

static int convert(const char *name, bool ram)
{
        _cleanup_(daxctl_unrefp) struct daxctl_ctx *ctx = NULL;
        struct daxctl_dev *dev;
        int r;

        r = daxctl_new(&ctx);
        if (r < 0)
                return r;
        daxctl_set_log_fn(ctx, daxctl_log_quiet);

        r = find_dev(ctx, name, &dev);
        if (r < 0)
                return r;
        if (!ram && daxctl_dev_has_online_memory(dev))
                /* The kernel would refuse anyway; never try to unbind kmem under online memory. */
                return -EBUSY;

        r = daxctl_dev_disable(dev);
        if (r < 0)
                return r;
        return ram ? daxctl_dev_enable_ram(dev) : daxctl_dev_enable_devdax(dev);
}

int dax_convert_to_ram(const char *name)
{
        return convert(name, true);
}

int dax_convert_to_devdax(const char *name)
{
        return convert(name, false);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>

#include "dax-convert.h"
#include "dax.h"
#include "dlopen-dax.h"
#include "macro.h"

static void daxctl_log_quiet(struct daxctl_ctx *ctx, int priority, const char *file, int line,
                             const char *fn, const char *format, va_list args)
{
}

static void daxctl_unrefp(struct daxctl_ctx **ctx)
{
        if (*ctx)
                sym_daxctl_unref(*ctx);
}

static int find_dev(struct daxctl_ctx *ctx, const char *name, struct daxctl_dev **ret)
{
        for (struct daxctl_region *region = sym_daxctl_region_get_first(ctx); region;
             region = sym_daxctl_region_get_next(region))
                for (struct daxctl_dev *dev = sym_daxctl_dev_get_first(region); dev;
                     dev = sym_daxctl_dev_get_next(dev))
                        if (streq_ptr(sym_daxctl_dev_get_devname(dev), name)) {
                                *ret = dev;
                                return 0;
                        }
        return -ENODEV;
}

/* A libdaxctl context and the device in it; *ret_ctx owns both. */
static int open_dev(const char *name, struct daxctl_ctx **ret_ctx, struct daxctl_dev **ret_dev)
{
        _cleanup_(daxctl_unrefp) struct daxctl_ctx *ctx = NULL;
        int r;

        r = dlopen_daxctl();
        if (r < 0)
                return r;
        r = sym_daxctl_new(&ctx);
        if (r < 0)
                return r;
        sym_daxctl_set_log_fn(ctx, daxctl_log_quiet);
        r = find_dev(ctx, name, ret_dev);
        if (r < 0)
                return r;
        *ret_ctx = TAKE_PTR(ctx);
        return 0;
}

/* Opens the device and unbinds its driver. Unbinding kmem under online memory is never tried:
 * the kernel would refuse anyway (-EBUSY). */
static int open_and_disable(const char *name, struct daxctl_ctx **ret_ctx, struct daxctl_dev **ret_dev)
{
        _cleanup_(daxctl_unrefp) struct daxctl_ctx *ctx = NULL;
        struct daxctl_dev *dev;
        int r;

        r = open_dev(name, &ctx, &dev);
        if (r < 0)
                return r;
        /* -ENOENT: no block of the device exists (Linux 7.3, after `unplugged`), so none is
         * online; any other error is taken as "maybe". */
        r = sym_daxctl_dev_has_online_memory(dev);
        if (r > 0 || (r < 0 && r != -ENOENT))
                return -EBUSY;
        r = sym_daxctl_dev_disable(dev);
        if (r < 0)
                return r;
        *ret_ctx = TAKE_PTR(ctx);
        *ret_dev = dev;
        return 0;
}

int dax_convert_to_ram(const char *name)
{
        _cleanup_(daxctl_unrefp) struct daxctl_ctx *ctx = NULL;
        struct daxctl_dev *dev;
        int r;

        assert(name);

        r = open_and_disable(name, &ctx, &dev);
        if (r < 0)
                return r;
        return sym_daxctl_dev_enable_ram(dev);
}

int dax_convert_to_devdax(const char *name)
{
        _cleanup_(daxctl_unrefp) struct daxctl_ctx *ctx = NULL;
        struct daxctl_dev *dev;
        int r;

        assert(name);

        r = open_and_disable(name, &ctx, &dev);
        if (r < 0)
                return r;
        return sym_daxctl_dev_enable_devdax(dev);
}

int dax_rebind_ram(Sysfs *s, const char *name, bool memmap)
{
        _cleanup_(daxctl_unrefp) struct daxctl_ctx *ctx = NULL;
        struct daxctl_dev *dev;
        int r, q;

        assert(s);
        assert(name);

        r = open_and_disable(name, &ctx, &dev);
        if (r < 0)
                return r;
        /* The kernel takes memmap_on_memory only while kmem is not bound. Whatever the write
         * does, kmem is bound again: a device left unbound would be memory nobody can use. */
        r = dax_write_memmap(s, name, memmap);
        q = sym_daxctl_dev_enable_ram(dev);
        return r < 0 ? r : q;
}

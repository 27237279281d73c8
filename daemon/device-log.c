/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "dax.h"
#include "device-log.h"
#include "log.h"

/* Journal entries about a device carry where it comes from, so "journalctl DAX_DEVICE=dax0.0" or
 * "journalctl CXL_SERIAL=0x…" find it. */
int log_device(int level, int error, const char *message_id, const Device *d, const char *format, ...)
{
        char f_dev[64], f_source[32], f_region[64], f_serial[128], f_uuid[64], message[512];
        const char *fields[6] = {};
        const DaxDevice *x;
        size_t n = 0, k = 0;
        va_list ap;

        assert(d);
        assert(format);

        x = d->dax;

        if (level > log_get_max_level())
                return -ERRNO_VALUE(error);

        snprintf(f_dev, sizeof(f_dev), "DAX_DEVICE=%s", x->name);
        fields[n++] = f_dev;
        snprintf(f_source, sizeof(f_source), "DAX_SOURCE=%s", dax_source_to_string(x->source));
        fields[n++] = f_source;
        if (x->cxl_region) {
                snprintf(f_region, sizeof(f_region), "CXL_REGION=%s", x->cxl_region);
                fields[n++] = f_region;
        }
        if (x->n_cxl_serials > 0) {
                k = snprintf(f_serial, sizeof(f_serial), "CXL_SERIAL=");
                for (size_t i = 0; i < x->n_cxl_serials && k < sizeof(f_serial); i++)
                        k += snprintf(f_serial + k, sizeof(f_serial) - k, "%s0x%" PRIx64, i ? "," : "",
                                      x->cxl_serials[i]);
                fields[n++] = f_serial;
        }
        if (x->nvdimm_uuid) {
                snprintf(f_uuid, sizeof(f_uuid), "NVDIMM_UUID=%s", x->nvdimm_uuid);
                fields[n++] = f_uuid;
        }

        errno = ERRNO_VALUE(error);
        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return log_fields_errno(level, error, message_id, fields, "%s: %s", x->name, message);
}

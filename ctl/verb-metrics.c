/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>

#include "ctl-util.h"
#include "ctl.h"
#include "macro.h"

/* memhotplugctl metrics: the daemon's GetMetrics, the Prometheus text exposition format as the
 * daemon makes it for node_exporter's textfile collector, printed as it comes. */
int verb_metrics(Context *c)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        assert(c);

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "GetMetrics", &error, &reply,
                               NULL);
        if (r < 0)
                return log_bus_error(r, &error, "get the metrics");
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the metrics: %m");
        fputs(text, stdout);
        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write the metrics: %m");
        return 0;
}

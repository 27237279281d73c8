/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-internal.h"
#include "log.h"
#include "parse-util.h"

/* org.freedesktop.LogControl1 at /org/freedesktop/LogControl1, as systemd's services have it, so
 * that "systemctl service-log-level memhotplugd debug" (and service-log-target) work: systemctl
 * finds us by the unit's BusName= and sets the property. Reading is open to everyone; setting is
 * root's, like every call that changes the daemon. */

/* The string a Set carries, once the caller is known to be root. */
static int read_value_as_root(sd_bus_message *value, const char *what, const char **ret, sd_bus_error *error)
{
        int r;

        r = bus_check_root(value, what, error);
        if (r < 0)
                return r;
        return sd_bus_message_read(value, "s", ret);
}

static int property_get_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", log_level_to_string(log_get_max_level()));
}

static int property_set_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *value, void *userdata, sd_bus_error *error)
{
        const char *s;
        int level, r;

        r = read_value_as_root(value, "set the log level", &s, error);
        if (r < 0)
                return r;
        if (parse_log_level(s, &level) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid log level \"%s\": expected emerg, alert, crit, err, "
                                         "warning, notice, info or debug.",
                                         s);
        manager_set_log_level(userdata, level);
        return 0;
}

static int property_get_log_target(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", log_target_to_string(log_get_target()));
}

static int property_set_log_target(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *value, void *userdata,
                                   sd_bus_error *error)
{
        static const char *const systemd_only[] = { "kmsg", "syslog", "journal-or-kmsg", "syslog-or-kmsg",
                                                    "console-prefixed" };
        LogTarget t;
        const char *s;
        int r;

        r = read_value_as_root(value, "set the log target", &s, error);
        if (r < 0)
                return r;
        t = log_target_from_string(s);
        if (t >= 0) {
                manager_set_log_target(userdata, t);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(systemd_only); i++)
                if (streq(s, systemd_only[i]))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                                 "Log target \"%s\" is not supported by memhotplugd: "
                                                 "expected console, journal, null or auto.",
                                                 s);
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Invalid log target \"%s\": expected console, journal, null or auto.", s);
}

static int property_get_syslog_identifier(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", LOG_SYSLOG_IDENTIFIER);
}

const sd_bus_vtable bus_log_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("LogLevel", "s", property_get_log_level, property_set_log_level, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("LogTarget", "s", property_get_log_target, property_set_log_target, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("SyslogIdentifier", "s", property_get_syslog_identifier, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

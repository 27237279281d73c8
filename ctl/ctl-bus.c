/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>

#include "ctl-util.h"
#include "ctl.h"

int log_bus_error(int r, const sd_bus_error *error, const char *what)
{
        assert(error);
        assert(what);

        if (!sd_bus_error_is_set(error))
                return log_error_errno(r, "Failed to %s: %m", what);

        /* The daemon is not on the bus (and could not be activated). */
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                log_error("memhotplugd is not running: nobody owns %s on the system bus (%s)", BUS_NAME,
                          error->name);
                return r;
        }
        /* dbus-daemon's message lists the rule that matched; the person needs to know what to do. */
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED)) {
                log_error("Permission denied: run as root (%s)", error->name);
                return r;
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_TIMEOUT)) {
                log_error("No answer from memhotplugd in time while trying to %s (%s)", what, error->name);
                return r;
        }
        log_error("%s (%s)", error->message ?: "Unknown error", error->name);
        return r;
}

int bus_get_manager_properties(Context *c, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        assert(c);
        assert(ret_reply);

        r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, ret_reply, "s", BUS_IFACE_MANAGER);
        if (r < 0)
                return log_bus_error(r, &error, "read the daemon's status");
        return 0;
}

int bus_get_manager_property(Context *c, const char *name, const char *type, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        assert(c);
        assert(name);
        assert(type);
        assert(ret_reply);

        r = sd_bus_get_property(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, name, &error, ret_reply,
                                type);
        if (r < 0)
                return log_bus_error(r, &error, "read a property");
        return 0;
}

int bus_read_properties(sd_bus_message *m, BusPropertyReader reader, void *userdata)
{
        int r;

        assert(m);
        assert(reader);

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name, *contents;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                r = reader(m, name, contents, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

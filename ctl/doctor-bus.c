/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "doctor-bus.h"
#include "read-file.h"

/* The daemon's own view, when it runs: the mode it took, a failed reload, drift, failed blocks.
 * Nothing here starts it: a bus-activated name is only asked once it has an owner. */

typedef struct Props {
        const char *mode, *fallback, *config_error;
        uint32_t drift;
} Props;

/* Properties of another type than we know are skipped: a newer daemon may change one. */
static int read_prop(sd_bus_message *m, const char *name, const char *contents, void *userdata)
{
        static const struct {
                const char *name, *type;
                size_t offset;
        } known[] = {
                { "KernelAutoOnlineMode", "s", offsetof(Props, mode) },
                { "KernelAutoOnlineFallback", "s", offsetof(Props, fallback) },
                { "LastConfigError", "s", offsetof(Props, config_error) },
                { "DriftBlocks", "u", offsetof(Props, drift) },
        };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(name, known[i].name) && streq(contents, known[i].type))
                        return sd_bus_message_read(m, "v", known[i].type,
                                                   (uint8_t *)userdata + known[i].offset);
        return sd_bus_message_skip(m, "v");
}

static int check_props(Doctor *d, const Props *p)
{
        int r;

        if (p->mode && *p->mode) {
                free(d->daemon.mode);
                d->daemon.mode = strdup(p->mode);
                if (!d->daemon.mode)
                        return -ENOMEM;
                d->daemon.mode_from_bus = true;
        }
        if (p->fallback && *p->fallback) {
                r = doctor_add(d, SEVERITY_INFO, "daemon", NULL, "KernelAutoOnline=delegate is not used: %s",
                               p->fallback);
                if (r < 0)
                        return r;
        }
        if (p->config_error && *p->config_error) {
                r = doctor_add(
                        d, SEVERITY_ERROR, "config", "fix the file, then memhotplugctl reload",
                        "The last reload failed, memhotplugd runs with the configuration before it: %s",
                        p->config_error);
                if (r < 0)
                        return r;
        }
        if (p->drift > 0)
                return doctor_add(d, SEVERITY_WARNING, "blocks",
                                  "memhotplugctl plan, then memhotplugctl rezone BLOCKS",
                                  "%" PRIu32
                                  " online blocks are in another zone than the policy says (drift)",
                                  p->drift);
        return doctor_add(d, SEVERITY_OK, "blocks", NULL, "No block has drifted from the policy's zone");
}

/* The blocks whose onlining failed: Plan notes them. */
static int check_failed(Doctor *d, sd_bus *bus)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *list = NULL;
        size_t len = 0, n = 0;
        FILE *f;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "Plan", &error, &reply, "");
        if (r < 0)
                return doctor_add(d, SEVERITY_WARNING, "blocks", NULL,
                                  "Plan could not be read (%s): failed blocks were not checked",
                                  error.message ?: strerror(-r));
        f = open_memstream(&list, &len);
        if (!f)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', BUS_ROW_PLAN);
        for (;;) {
                const char *action, *type, *zone, *rule, *reason, *note;
                uint32_t index;
                int32_t node;

                if (r < 0)
                        break;
                r = sd_bus_message_read(reply, BUS_ROW_PLAN, &index, &node, &action, &type, &zone, &rule,
                                        &reason, &note);
                if (r <= 0)
                        break;
                if (streq(note, BUS_PLAN_NOTE_FAILED))
                        fprintf(f, "%s%" PRIu32, n++ > 0 ? " " : "", index);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return doctor_add(d, SEVERITY_WARNING, "blocks", NULL,
                                  "Plan's answer could not be read (%s): failed blocks were not checked",
                                  strerror(-r));
        if (n == 0)
                return doctor_add(d, SEVERITY_OK, "blocks", NULL, "No block failed to online");
        return doctor_add(
                d, SEVERITY_ERROR, "blocks",
                "journalctl -u memhotplugd MEMORY_BLOCK=N says why; memhotplugctl rescan tries again",
                "%zu blocks failed to online: %s", n, list);
}

int doctor_check_bus(Doctor *d, sd_bus *bus)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        Props p = {};
        pid_t pid;
        int r;

        assert(d);

        if (!bus)
                return doctor_add(d, SEVERITY_INFO, "daemon", NULL,
                                  "The system bus could not be reached: whether memhotplugd runs, drift and "
                                  "failed blocks were not checked");
        r = sd_bus_get_name_creds(bus, BUS_NAME, SD_BUS_CREDS_PID, &creds);
        if (r == -ENXIO || r == -ESRCH)
                return doctor_add(d, SEVERITY_WARNING, "daemon",
                                  "systemctl enable --now memhotplugd.service",
                                  "memhotplugd is not running (nobody owns %s): new memory is left to the "
                                  "kernel; drift and failed blocks were not checked",
                                  BUS_NAME);
        if (r < 0)
                return doctor_add(d, SEVERITY_WARNING, "daemon", NULL,
                                  "Who owns %s could not be asked (%s): the daemon was not checked",
                                  BUS_NAME, strerror(-r));
        d->daemon.running = true;
        if (sd_bus_creds_get_pid(creds, &pid) >= 0)
                d->daemon.pid = pid;
        r = doctor_add(d, SEVERITY_OK, "daemon", NULL, "memhotplugd runs (pid %d) and owns %s",
                       (int)d->daemon.pid, BUS_NAME);
        if (r < 0)
                return r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll", &error,
                               &reply, "s", BUS_IFACE_MANAGER);
        if (r >= 0)
                r = bus_read_properties(reply, read_prop, &p);
        if (r < 0)
                return doctor_add(
                        d, SEVERITY_WARNING, "daemon", NULL,
                        "memhotplugd's properties could not be read (%s): its mode and drift were not "
                        "checked",
                        error.message ?: strerror(-r));
        r = check_props(d, &p);
        if (r < 0)
                return r;
        return check_failed(d, bus);
}

/* "Name:\tvalue" of /proc/PID/status. */
static const char *status_field(const char *status, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = status; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, name, n) == 0 && p[n] == ':')
                        return p + n + 1 + strspn(p + n + 1, " \t");
        return NULL;
}

/* Whether the process holds a file named iomem open (/proc/iomem, or --iomem's file). */
static int holds_iomem(pid_t pid)
{
        _cleanup_(closedirp) DIR *dir = NULL;
        char path[64];
        struct dirent *de;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        dir = opendir(path);
        if (!dir)
                return negative_errno();
        while ((de = readdir(dir))) {
                char link[320], target[4096];
                ssize_t t;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
                t = readlink(link, target, sizeof(target) - 1);
                if (t < 0)
                        continue;
                target[t] = '\0';
                if (t >= 5 && streq(target + t - 5, "iomem"))
                        return 1;
        }
        return 0;
}

int doctor_check_process(Doctor *d)
{
        _cleanup_(freep) char *status = NULL;
        const char *v;
        char path[64];
        int r;

        assert(d);

        if (!d->daemon.running || d->daemon.pid <= 0)
                return 0;
        /* The daemon is a process of this machine whatever the root: /proc itself. */
        snprintf(path, sizeof(path), "/proc/%d/status", (int)d->daemon.pid);
        r = read_file_capped_at(AT_FDCWD, path, READ_MAX_PROC, &status, &(size_t){ 0 });
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return doctor_add(d, SEVERITY_INFO, "daemon", NULL, "%s could not be read (%s)", path,
                                  strerror(-r));

        v = status_field(status, "CapBnd");
        if (v && !(strtoull(v, NULL, 16) & (UINT64_C(1) << CAP_SYS_ADMIN))) {
                r = doctor_add(d, SEVERITY_WARNING, "daemon",
                               "keep CAP_SYS_ADMIN in the unit's CapabilityBoundingSet=",
                               "memhotplugd started without CAP_SYS_ADMIN: /proc/iomem hides its addresses, "
                               "and the "
                               "blocks of virtio-mem devices are placed one at a time");
                if (r < 0)
                        return r;
        }
        v = status_field(status, "VmLck");
        if (d->daemon.lock_memory && v) {
                if (strtoull(v, NULL, 10) == 0)
                        r = doctor_add(
                                d, SEVERITY_WARNING, "daemon",
                                "LimitMEMLOCK=infinity in the unit, as it ships",
                                "LockMemory=yes, and memhotplugd holds no locked memory: onlining under "
                                "memory pressure may wait for its own pages");
                else
                        r = doctor_add(d, SEVERITY_OK, "daemon", NULL,
                                       "memhotplugd holds %.*s of locked memory", (int)strcspn(v, "\n"), v);
                if (r < 0)
                        return r;
        }
        if (!d->privileged)
                return doctor_add(d, SEVERITY_INFO, "daemon", "run memhotplugctl doctor as root",
                                  "Not checked without root: whether memhotplugd holds /proc/iomem open");
        r = holds_iomem(d->daemon.pid);
        if (r < 0)
                return doctor_add(d, SEVERITY_INFO, "daemon", NULL,
                                  "memhotplugd's open files could not be read (%s)", strerror(-r));
        if (r == 0)
                return doctor_add(
                        d, SEVERITY_WARNING, "daemon", "see the daemon's journal at start",
                        "memhotplugd does not hold /proc/iomem open: the blocks of virtio-mem devices "
                        "are placed one at a time");
        return doctor_add(d, SEVERITY_OK, "daemon", NULL, "memhotplugd holds /proc/iomem open");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl-util.h"
#include "ctl.h"
#include "doctor-bus.h"
#include "json-writer.h"

#ifndef MEMHOTPLUGD_PATH
#define MEMHOTPLUGD_PATH "/usr/sbin/memhotplugd"
#endif

/* memhotplugctl doctor: why memory does or does not come online here, each finding with its
 * severity and its fix. Exit status 1 when a finding is an error. */

static int print_json(const Doctor *d, JsonMode mode)
{
        unsigned count[_SEVERITY_MAX] = {};
        JsonWriter w;

        json_init(&w, stdout, mode == JSON_PRETTY);
        json_begin_object(&w);
        json_key(&w, "Findings");
        json_begin_array(&w);
        for (size_t i = 0; i < d->n_findings; i++) {
                const Finding *f = &d->findings[i];

                count[f->severity]++;
                json_begin_object(&w);
                json_field_string(&w, "Severity", severity_to_string(f->severity));
                json_field_string(&w, "Check", f->check);
                json_field_string(&w, "Text", f->text);
                json_field_string(&w, "Fix", f->fix);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_field_unsigned(&w, "Errors", count[SEVERITY_ERROR]);
        json_field_unsigned(&w, "Warnings", count[SEVERITY_WARNING]);
        json_end_object(&w);
        return json_finish(&w);
}

static int print_text(const Doctor *d)
{
        unsigned count[_SEVERITY_MAX] = {};

        for (size_t i = 0; i < d->n_findings; i++) {
                const Finding *f = &d->findings[i];

                count[f->severity]++;
                printf("%-8s %-12s %s\n", severity_to_string(f->severity), f->check, f->text);
                if (f->fix)
                        printf("%-8s %-12s fix: %s\n", "", "", f->fix);
        }
        printf("\n%u error%s, %u warning%s.\n", count[SEVERITY_ERROR], count[SEVERITY_ERROR] == 1 ? "" : "s",
               count[SEVERITY_WARNING], count[SEVERITY_WARNING] == 1 ? "" : "s");
        return fflush(stdout) == 0 ? 0 : negative_errno();
}

static void doctor_donep(Doctor *d)
{
        doctor_done(d);
}

int verb_doctor(Context *c)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(doctor_donep) Doctor d = {};
        const char *binary;
        int r;

        assert(c);

        d.root = c->root ?: "";
        d.privileged = geteuid() == 0;
        /* The installed daemon, or the one on PATH when it was installed elsewhere (as a
         * distribution's /usr/sbin against a default prefix of /usr/local). */
        binary = getenv("MEMHOTPLUGD");
        if (!binary)
                binary = access(MEMHOTPLUGD_PATH, X_OK) >= 0 ? MEMHOTPLUGD_PATH : "memhotplugd";
        /* No system bus is a finding, not a failure: the checks of files still run. */
        if (sd_bus_open_system(&bus) < 0)
                bus = NULL;
        /* The daemon first: the mode it runs with (or would) decides how the kernel's settings are
         * read. */
        r = doctor_check_bus(&d, bus);
        if (r >= 0)
                r = doctor_check_daemon_config(&d, binary);
        if (r >= 0)
                r = doctor_check_process(&d);
        if (r >= 0)
                r = doctor_load_kernel(&d);
        if (r >= 0)
                r = doctor_check_kernel(&d);
        if (r >= 0)
                r = doctor_check_auto_online(&d);
        if (r >= 0)
                r = doctor_check_agents(&d);
        if (r >= 0)
                r = doctor_check_hot_add(&d);
        if (r < 0)
                return log_error_errno(r, "Failed to run the checks: %m");

        r = c->json != JSON_OFF ? print_json(&d, c->json) : print_text(&d);
        if (r < 0)
                return log_error_errno(r, "Failed to write the findings: %m");
        return doctor_worst(&d) >= SEVERITY_ERROR ? 1 : 0;
}

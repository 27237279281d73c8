/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "daxctl-import.h"
#include "ini-file.h"
#include "parse-util.h"

/* daxctl's keys, as daxctl-reconfigure-device(1) documents them. */
typedef struct Imported {
        char *uuid;
        DaxMode mode;
        int online, movable; /* -1: not given */
} Imported;

typedef struct ImportState {
        Config *config;
        char *section;
        Imported current;
} ImportState;

static int rule_add(Config *c, const char *section, const Imported *d)
{
        _cleanup_(freep) char *name = NULL;
        DaxRule *r;
        int q;

        q = config_dax_rules_reserve(c);
        if (q < 0)
                return q;
        if (asprintf(&name, "daxctl:%s", section) < 0)
                return -ENOMEM;
        r = &c->dax_rules[c->n_dax_rules];
        dax_rule_init(r, name);
        if (!r->name)
                return -ENOMEM;
        r->match_nvdimm_uuid = strdup(d->uuid);
        if (!r->match_nvdimm_uuid) {
                dax_rule_done(r);
                return -ENOMEM;
        }
        r->mode = d->mode;
        /* daxctl onlines system-ram unless told online=false, into ZONE_MOVABLE unless movable=false. */
        r->online = d->online == 0    ? ONLINE_TYPE_OFFLINE
                    : d->movable == 0 ? ONLINE_TYPE_KERNEL
                                      : ONLINE_TYPE_MOVABLE;
        c->n_dax_rules++;
        return 0;
}

/* A section ends when the next begins or the file ends: only then is it complete. Returns
 * -ENOKEY when it has no device to match. */
static int section_finish(ImportState *st)
{
        int r = 0;

        if (!st->section)
                return 0;
        if (!st->current.uuid)
                r = -ENOKEY;
        else
                r = rule_add(st->config, st->section, &st->current);
        free(st->current.uuid);
        st->current = (Imported){};
        return r;
}

static int import_handler(void *user, const char *section, const char *name, const char *value)
{
        IniFile *f = user;
        ImportState *st = f->userdata;
        const char *device;
        bool b;

        /* Other daxctl sections are not about devices: not ours. */
        if (strncmp(section, "reconfigure-device ", 19) != 0)
                return 1;
        device = section + 19;
        if (!st->section || !streq(st->section, device)) {
                int r = section_finish(st);

                if (r == -ENOKEY)
                        return ini_fail(
                                f,
                                "The [reconfigure-device %s] before this has no nvdimm.uuid=, the only "
                                "device match daxctl has",
                                st->section);
                if (r == -E2BIG)
                        return ini_fail(f, "Too many rules (max %u, with the native [Dax NAME] ones)",
                                        CONFIG_DAX_RULES_MAX);
                if (r < 0)
                        return ini_fail(f, "Out of memory");
                free(st->section);
                st->section = strdup(device);
                st->current = (Imported){ .mode = DAX_MODE_SYSTEM_RAM, .online = -1, .movable = -1 };
                if (!st->section)
                        return ini_fail(f, "Out of memory");
        }

        if (streq(name, "nvdimm.uuid")) {
                if (!uuid_is_valid(value))
                        return ini_fail(f, "Invalid nvdimm.uuid \"%s\"", value);
                free(st->current.uuid);
                st->current.uuid = strdup(value);
                return st->current.uuid ? 1 : ini_fail(f, "Out of memory");
        }
        if (streq(name, "mode")) {
                st->current.mode = dax_mode_from_string(value);
                if (st->current.mode != DAX_MODE_SYSTEM_RAM && st->current.mode != DAX_MODE_DEVDAX)
                        return ini_fail(f, "Invalid mode \"%s\": expected system-ram or devdax", value);
                return 1;
        }
        if (streq(name, "online") || streq(name, "movable")) {
                if (parse_boolean(value, &b) < 0)
                        return ini_fail(f, "Invalid value \"%s\" for %s: expected true or false", value,
                                        name);
                *(streq(name, "online") ? &st->current.online : &st->current.movable) = b;
                return 1;
        }
        return ini_fail(f, "Unknown key %s in [reconfigure-device %s]", name, device);
}

static int import_file(Config *c, const char *path, char **ret_error)
{
        ImportState st = { .config = c };
        int r;

        r = ini_file_parse(path, import_handler, &st, ret_error);
        if (r == 1)
                r = 0; /* a link to /dev/null: nothing to import */
        else if (r >= 0) {
                /* The last section ends with the file. */
                r = section_finish(&st);
                if (r == -ENOKEY && asprintf(ret_error,
                                             "%s: [reconfigure-device %s] has no nvdimm.uuid=, the "
                                             "only device match daxctl has",
                                             path, st.section) < 0)
                        *ret_error = NULL;
                else if (r == -E2BIG &&
                         asprintf(ret_error, "%s: Too many rules (max %u, with the native [Dax NAME] ones)",
                                  path, CONFIG_DAX_RULES_MAX) < 0)
                        *ret_error = NULL;
                else if (r < 0 && r != -ENOKEY && r != -E2BIG &&
                         asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
                        *ret_error = NULL;
        }
        free(st.section);
        free(st.current.uuid);
        return r;
}

int daxctl_import(Config *c, const char *dir, char **ret_error, char **ret_error_file)
{
        _cleanup_(strv_freep) char **files = NULL;
        int r;

        assert(c);
        assert(dir);
        assert(ret_error);

        r = ini_conf_files_list((const char *const[]){ dir, NULL }, &files, ret_error, NULL);
        if (r < 0) {
                if (ret_error_file)
                        *ret_error_file = strdup(dir);
                return r;
        }
        for (char **p = files; *p; p++) {
                r = import_file(c, *p, ret_error);
                if (r < 0) {
                        if (ret_error_file)
                                *ret_error_file = strdup(*p);
                        return r;
                }
        }
        return 0;
}

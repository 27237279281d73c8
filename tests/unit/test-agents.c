/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "macro.h"
#include "tap.h"

/* Finding the udev rules that would race the daemon, as udev itself orders and masks them. */

static char dir[] = "/tmp/memhotplugd-test-agents.XXXXXX";

static void put(const char *sub, const char *name, const char *content)
{
        _cleanup_(freep) char *d = NULL, *p = NULL;
        FILE *f;

        if (asprintf(&d, "%s/%s", dir, sub) < 0 || asprintf(&p, "%s/%s", d, name) < 0)
                abort();
        mkdir(d, 0755);
        f = fopen(p, "we");
        if (!f)
                abort();
        fputs(content, f);
        fclose(f);
}

static const RacingRule *find(const RacingRule *l, size_t n, const char *suffix)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(l[i].path) >= strlen(suffix) &&
                    streq(l[i].path + strlen(l[i].path) - strlen(suffix), suffix))
                        return &l[i];
        return NULL;
}

/* Rules as distributions ship them, each in tests/unit/fixtures/udev-rules/. */
static void test_distro_rules(void)
{
        static const char *const racing[] = {
                "40-redhat.rules",          /* RHEL 9: SUBSYSTEM!="memory", GOTO=… then the write */
                "80-hotplug-cpu-mem.rules", /* SUSE: one rule, continued over two lines */
                "40-vm-hotadd.rules",       /* Ubuntu: reached through a GOTO for Hyper-V and Xen */
        };
        RacingRule *l = NULL;
        size_t n = 0;

        tap_ok(agents_find_racing_rules(UNIT_FIXTURES_DIR "/udev-rules", &l, &n) == 0,
               "fixture rules scanned");
        tap_is_int(n, ELEMENTSOF(racing), "the three distribution rules race, nothing else");
        for (size_t i = 0; i < ELEMENTSOF(racing); i++) {
                const RacingRule *x = find(l, n, racing[i]);

                tap_ok(x && strstr(x->what, "onlines memory blocks"), "%s onlines memory blocks", racing[i]);
        }
        tap_ok(!find(l, n, "60-benign-memory.rules"),
               "a rule that matches memory but does not write its state does not race");
        racing_rules_free(l, n);
}

int main(void)
{
        _cleanup_(freep) char *dirs = NULL, *mask = NULL, *masked = NULL;
        RacingRule *l = NULL;
        const RacingRule *x;
        size_t n = 0;

        if (!mkdtemp(dir))
                return 1;
        test_distro_rules();
        put("etc", "99-local.rules", "# nothing about memory\n");
        put("lib", "40-hotadd.rules",
            "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}==\"offline\", ATTR{state}=\"online\"\n");
        put("lib", "41-run.rules",
            "SUBSYSTEM==\"memory\", ACTION==\"add\", RUN+=\"/bin/sh -c 'echo online > "
            "/sys$devpath/state'\"\n");
        put("lib", "42-comment.rules", "# SUBSYSTEM==\"memory\", ATTR{state}=\"online\"\n");
        put("lib", "60-memhotplugd.rules", "SUBSYSTEM==\"memory\", TAG+=\"systemd\"\n");
        put("lib", "90-daxctl-device.rules", "ACTION==\"add\", SUBSYSTEM==\"dax\", RUN+=\"daxctl\"\n");
        put("lib", "43-overridden.rules", "SUBSYSTEM==\"memory\", ATTR{state}=\"online_movable\"\n");
        put("etc", "43-overridden.rules", "# the admin's own copy, harmless\n");
        if (asprintf(&masked, "%s/etc/41-run.rules", dir) < 0 || symlink("/dev/null", masked) < 0)
                return 1;
        if (asprintf(&dirs, "%s/etc:%s/lib", dir, dir) < 0)
                return 1;

        tap_ok(agents_find_racing_rules(dirs, &l, &n) == 0, "rules directories scanned");
        tap_is_int(n, 2, "two racing rules found");
        x = find(l, n, "lib/40-hotadd.rules");
        tap_ok(x && strstr(x->what, "onlines memory blocks"), "an ATTR{state}=\"online\" rule races");
        if (asprintf(&mask, "%s/etc/40-hotadd.rules", dir) < 0)
                return 1;
        tap_ok(x && streq_ptr(x->mask, mask), "and is masked from the first directory: %s",
               x ? x->mask : "");
        tap_ok(find(l, n, "90-daxctl-device.rules") != NULL, "daxctl's hook races");
        tap_ok(!find(l, n, "41-run.rules"), "a rule masked with /dev/null does not");
        tap_ok(!find(l, n, "42-comment.rules"), "a commented-out rule does not");
        tap_ok(!find(l, n, "60-memhotplugd.rules"), "our own rule, which only starts the service, does not");
        tap_ok(!find(l, n, "43-overridden.rules"),
               "a rule overridden by a same-named file in /etc does not");
        racing_rules_free(l, n);

        {
                _cleanup_(freep) char *cmd = NULL;

                if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                        return 1;
        }
        return tap_done();
}

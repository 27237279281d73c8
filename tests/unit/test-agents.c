/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "agents.h"
#include "macro.h"
#include "read-file.h"
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

/* A rule that writes a block's state, at the end of a file of filler lines, size bytes in all. */
static void put_sized(const char *sub, const char *name, size_t size)
{
        static const char rule[] = "SUBSYSTEM==\"memory\", ATTR{state}=\"online\"\n";
        _cleanup_(freep) char *p = NULL;
        FILE *f;

        if (asprintf(&p, "%s/%s/%s", dir, sub, name) < 0)
                abort();
        f = fopen(p, "we");
        if (!f)
                abort();
        for (size_t n = 0; n < size - (sizeof(rule) - 1); n++)
                fputc(n % 64 == 63 || n + 1 == size - (sizeof(rule) - 1) ? '\n' : '#', f);
        fputs(rule, f);
        fclose(f);
}

/* Files that are not rules files, in a rules directory: none may stall the scan or be read whole.
 * Before, a FIFO hung the daemon's start in fopen() and a link to /dev/zero grew it without end. */
static void test_hostile_files(void)
{
        _cleanup_(freep) char *d = NULL, *fifo = NULL, *zero = NULL, *dangling = NULL, *labels = NULL;
        RacingRule *l = NULL;
        const RacingRule *x;
        size_t n = 0;

        if (asprintf(&d, "%s/hostile", dir) < 0 || mkdir(d, 0755) < 0 ||
            asprintf(&fifo, "%s/50-fifo.rules", d) < 0 || mkfifo(fifo, 0644) < 0 ||
            asprintf(&zero, "%s/51-zero.rules", d) < 0 || symlink("/dev/zero", zero) < 0 ||
            asprintf(&dangling, "%s/54-dangling.rules", d) < 0 || symlink("/nonexistent", dangling) < 0)
                abort();
        put_sized("hostile", "52-big.rules", READ_MAX_UDEV_RULES + 1);
        put_sized("hostile", "53-exact.rules", READ_MAX_UDEV_RULES);
        /* More labels than the scan keeps, then the rule: still found, as one that might run. */
        {
                _cleanup_(freep) char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);

                if (!f)
                        abort();
                for (unsigned i = 0; i < 20000; i++)
                        fprintf(f, "LABEL=\"l%u\"\n", i);
                fputs("SUBSYSTEM==\"memory\", ATTR{state}=\"online\"\n", f);
                fclose(f);
                put("hostile", "55-labels.rules", text);
        }

        tap_ok(agents_find_racing_rules(d, &l, &n) == 0,
               "a directory with a FIFO, /dev/zero and a large file scanned");
        tap_is_int(n, 5, "five entries: three not read, two racing");
        x = find(l, n, "50-fifo.rules");
        tap_ok(x && !x->what && x->error == -EBADFD,
               "a FIFO is not opened for reading (not a regular file)");
        x = find(l, n, "51-zero.rules");
        tap_ok(x && !x->what && x->error == -EBADFD, "a link to /dev/zero is not read (not a regular file)");
        x = find(l, n, "52-big.rules");
        tap_ok(x && !x->what && x->error == -EFBIG, "a file one byte over %zu is skipped, not read",
               (size_t)READ_MAX_UDEV_RULES);
        x = find(l, n, "53-exact.rules");
        tap_ok(x && x->what && x->error == 0, "a file of exactly %zu bytes is read, its rule found",
               (size_t)READ_MAX_UDEV_RULES);
        tap_ok(!find(l, n, "54-dangling.rules"), "a dangling link is no rule and no warning");
        x = find(l, n, "55-labels.rules");
        tap_ok(x && x->what && strstr(x->what, "onlines memory blocks"),
               "a rule after 20000 labels is still found");
        racing_rules_free(l, n);

        if (asprintf(&labels,
                     "SUBSYSTEM!=\"memory\", GOTO=\"end\"\nATTR{state}=\"online\"\nLABEL=\"end\"\n") < 0)
                abort();
        tap_ok(agents_rules_races(labels, strlen(labels)) != NULL, "rules text scanned from memory");
        tap_ok(agents_rules_races("", 0) == NULL, "empty text races nothing");
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
        test_hostile_files();
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

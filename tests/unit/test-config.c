/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "parse-util.h"
#include "tap.h"

static char dir[] = "/tmp/memhotplugd-test-config.XXXXXX";

#include "conf-files.h"

static void expect_error(const char *content, const char *want_suffix, const char *what)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *want = NULL;
        int r;

        r = load(content, &c, &error);
        if (asprintf(&want, "%s/main.conf:%s", dir, want_suffix) < 0)
                abort();
        tap_ok(r < 0 && !c, "%s: refused", what);
        tap_is_str(error, want, "%s: message", what);
}

static void test_defaults(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *path = NULL;
        int r;

        if (asprintf(&path, "%s/absent.conf", dir) < 0)
                abort();
        r = config_load(path, false, &c, &error);
        tap_ok(r == 0 && c, "a missing default file means built-in defaults");
        if (!c)
                return;
        tap_is_int(c->chunk_blocks, 64, "default ChunkBlocks");
        tap_is_int(c->online, ONLINE_TYPE_PLATFORM, "default Online=platform");
        tap_is_int(c->movable_ratio, 301, "default MovableRatio=301");
        tap_ok(c->numa_aware, "default NumaAware=yes");
        tap_is_int(c->kernel_auto_online, KERNEL_AUTO_ONLINE_TAKEOVER, "default KernelAutoOnline=takeover");
        tap_is_int(c->demotion, DEMOTION_KEEP, "default Demotion=keep");
        tap_is_int(c->uevent_source, UEVENT_SOURCE_KERNEL, "default UeventSource=kernel");
        tap_is_int(c->n_files, 0, "no file read");
        tap_ok(!c->metrics_file, "default MetricsFile= (the exporter's directory)");

        config_free(TAKE_PTR(c));
        free(TAKE_PTR(error));
        r = config_load(path, true, &c, &error);
        tap_ok(r == -ENOENT, "a missing --config file is an error");
        tap_ok(error && strstr(error, "absent.conf: Cannot open: No such file or directory"),
               "and the message names the file: %s", strna(error));
}

static void test_full(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        const NodePolicy *n;
        int r;

        r = load("# comment\n"
                 "[Daemon]\n"
                 "ChunkBlocks=16\n"
                 "ChunkPauseSec=250ms\n"
                 "ScanAtStart=no\n"
                 "LockMemory=no\n"
                 "KernelAutoOnline=respect\n"
                 "Demotion=yes\n"
                 "UeventSource=udev\n"
                 "LogLevel=debug\n"
                 "MaxAttempts=5\n"
                 "RetrySec=2\n"
                 "OfflineTimeoutSec=2min\n"
                 "MetricsFile=/tmp/m/memhotplugd.prom\n"
                 "\n"
                 "[Node 1]\n"
                 "Online=online_kernel\n"
                 "[Node 3]\n"
                 "; empty: follows [Memory], even one given later\n"
                 "Online=\n"
                 "[Memory]\n"
                 "Online=online\n",
                 &c, &error);
        tap_ok(r == 0 && c, "a full config parses (%s)", strna(error));
        if (!c)
                return;
        tap_is_int(c->chunk_blocks, 16, "ChunkBlocks");
        tap_is_int(c->chunk_pause_usec, 250000, "ChunkPauseSec");
        tap_ok(!c->scan_at_start, "ScanAtStart");
        tap_ok(!c->lock_memory, "LockMemory");
        tap_is_int(c->kernel_auto_online, KERNEL_AUTO_ONLINE_RESPECT, "KernelAutoOnline");
        tap_is_int(c->demotion, DEMOTION_YES, "Demotion");
        tap_is_int(c->uevent_source, UEVENT_SOURCE_UDEV, "UeventSource");
        tap_is_int(c->log_level, LOG_DEBUG, "LogLevel");
        tap_is_int(c->max_attempts, 5, "MaxAttempts");
        tap_is_int(c->retry_usec, 2000000, "RetrySec");
        tap_is_int(c->offline_timeout_usec, 120000000, "OfflineTimeoutSec");
        tap_ok(streq_ptr(c->metrics_file, "/tmp/m/memhotplugd.prom"), "MetricsFile");
        tap_is_int(c->online, ONLINE_TYPE_ONLINE, "[Memory] Online");
        n = config_find_node(c, 1);
        tap_ok(n && n->online == ONLINE_TYPE_KERNEL, "[Node 1] Online");
        n = config_find_node(c, 3);
        tap_ok(n && n->online == ONLINE_TYPE_ONLINE, "[Node 3] with an empty Online= follows [Memory]");
        tap_ok(!config_find_node(c, 2), "no [Node 2]");
        config_free(TAKE_PTR(c));
        free(TAKE_PTR(error));
        r = load("[Daemon]\nMetricsFile=no\n", &c, &error);
        tap_ok(r == 0 && c && streq_ptr(c->metrics_file, ""), "MetricsFile=no: none");
        config_free(TAKE_PTR(c));
        free(TAKE_PTR(error));
        r = load("[Daemon]\nMetricsFile=no\nMetricsFile=\n", &c, &error);
        tap_ok(r == 0 && c && !c->metrics_file, "an empty MetricsFile= resets it to the default");
}

static void test_placement_keys(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        const NodePolicy *n;
        int r;

        r = load("[Node 1]\n"
                 "NumaAware=no\n"
                 "[Node 2]\n"
                 "MovableRatio=150\n"
                 "Online=auto-movable\n"
                 "[Memory]\n"
                 "Online=auto-movable\n"
                 "MovableRatio=400\n"
                 "[Dax]\n"
                 "Online=auto-movable\n",
                 &c, &error);
        tap_ok(r == 0 && c, "Online=auto-movable, MovableRatio=, NumaAware= parse (%s)", strna(error));
        if (!c)
                return;
        tap_is_int(c->online, ONLINE_TYPE_AUTO_MOVABLE, "[Memory] Online=auto-movable");
        tap_is_int(c->movable_ratio, 400, "[Memory] MovableRatio=");
        tap_ok(c->numa_aware, "[Memory] NumaAware= defaults to yes");
        tap_is_int(c->dax.online, ONLINE_TYPE_AUTO_MOVABLE, "[Dax] Online=auto-movable");
        n = config_find_node(c, 1);
        tap_ok(n && n->numa_aware == 0 && n->movable_ratio == 400 && n->online == ONLINE_TYPE_AUTO_MOVABLE,
               "[Node 1] NumaAware=no; its ratio and Online= follow [Memory], given later");
        n = config_find_node(c, 2);
        tap_ok(n && n->numa_aware == 1 && n->movable_ratio == 150,
               "[Node 2] MovableRatio=150, NumaAware= follows");

        expect_error(
                "[Memory]\nMovableRatio=100001\n",
                "2: Invalid value \"100001\" for MovableRatio= in [Memory]: expected a percentage from 0 to "
                "100000, e.g. 301",
                "MovableRatio= too large");
        expect_error(
                "[Memory]\nMovableRatio=301%\n",
                "2: Invalid value \"301%\" for MovableRatio= in [Memory]: expected a percentage from 0 to "
                "100000, e.g. 301",
                "MovableRatio= with a percent sign");
        expect_error(
                "[Node 0]\nMovableRatio=-1\n",
                "2: Invalid value \"-1\" for MovableRatio= in [Node 0]: expected a percentage from 0 to "
                "100000, e.g. 301",
                "negative [Node] MovableRatio=");
        expect_error("[Node 0]\nNumaAware=maybe\n",
                     "2: Invalid value \"maybe\" for NumaAware= in [Node 0]: expected yes or no",
                     "bad NumaAware=");
        expect_error("[Memory]\nOnline=auto_movable\n",
                     "2: Invalid value \"auto_movable\" for Online= in [Memory]: expected movable, kernel, "
                     "online, "
                     "offline, auto-movable or platform",
                     "Online=auto_movable (the kernel's spelling is not a state word)");
}

static void test_reset_and_dropins(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *d = NULL, *a = NULL, *b = NULL, *bad = NULL, *ignored = NULL;
        int r;

        if (asprintf(&d, "%s/main.conf.d", dir) < 0)
                abort();
        mkdir(d, 0755);
        a = write_file("main.conf.d/20-b.conf", "[Daemon]\nChunkBlocks=32\n");
        b = write_file("main.conf.d/10-a.conf", "[Daemon]\nChunkBlocks=8\nMaxAttempts=9\n");
        ignored = write_file("main.conf.d/30-c.conf.disabled", "[Bogus]\n");

        r = load("[Daemon]\nChunkBlocks=4\nMaxAttempts=7\nMaxAttempts=\n", &c, &error);
        tap_ok(r == 0 && c, "main file plus drop-ins parse (%s)", strna(error));
        if (c) {
                tap_is_int(c->chunk_blocks, 32, "drop-ins are read in lexical order, later wins");
                tap_is_int(c->max_attempts, 9, "an empty assignment resets, a drop-in sets again");
                tap_is_int(c->n_files, 3, "three files read, not the .disabled one");
                tap_ok(c->n_files == 3 && strstr(c->files[1], "10-a.conf"), "files listed in order");
        }
        config_free(TAKE_PTR(c));
        free(TAKE_PTR(error));

        bad = write_file("main.conf.d/15-bad.conf", "\n[Memory]\nOnline=sideways\n");
        r = load("[Daemon]\nChunkBlocks=4\n", &c, &error);
        tap_ok(r < 0 && !c, "a bad drop-in refuses the whole configuration");
        tap_ok(error && strstr(error, "main.conf.d/15-bad.conf:3: Invalid value \"sideways\" for Online="),
               "and names the drop-in and line: %s", strna(error));
        unlink(a);
        unlink(b);
        unlink(bad);
        unlink(ignored);
        rmdir(d);
}

static void test_errors(void)
{
        expect_error("[Daemon]\nChunkBlocks=4\n[Bogus]\nKey=1\n", "4: Unknown section [Bogus]",
                     "unknown section");
        expect_error("[Daemon]\nChunkSize=4\n", "2: Unknown key ChunkSize= in section [Daemon]",
                     "unknown key");
        expect_error("[Memory]\n\n# x\nOnline=sideways\n",
                     "4: Invalid value \"sideways\" for Online= in [Memory]: expected movable, kernel, "
                     "online, offline, "
                     "auto-movable or platform",
                     "bad Online=");
        expect_error("[Daemon]\nChunkBlocks=0\n",
                     "2: Invalid value \"0\" for ChunkBlocks= in [Daemon]: expected a number of blocks, 1 "
                     "or more",
                     "ChunkBlocks=0");
        expect_error("[Daemon]\nChunkBlocks=-3\n",
                     "2: Invalid value \"-3\" for ChunkBlocks= in [Daemon]: expected a number of blocks, 1 "
                     "or more",
                     "negative ChunkBlocks");
        expect_error("[Daemon]\nChunkPauseSec=soon\n",
                     "2: Invalid value \"soon\" for ChunkPauseSec= in [Daemon]: expected a time such as 0, "
                     "0.5 or 200ms, at most 3600 (an hour)",
                     "bad ChunkPauseSec");
        expect_error("[Daemon]\nScanAtStart=perhaps\n",
                     "2: Invalid value \"perhaps\" for ScanAtStart= in [Daemon]: expected yes or no",
                     "bad ScanAtStart");
        expect_error("[Daemon]\nLockMemory=always\n",
                     "2: Invalid value \"always\" for LockMemory= in [Daemon]: expected yes or no",
                     "bad LockMemory");
        expect_error("[Daemon]\nKernelAutoOnline=ignore\n",
                     "2: Invalid value \"ignore\" for KernelAutoOnline= in [Daemon]: expected takeover, "
                     "respect or delegate",
                     "bad KernelAutoOnline");
        expect_error("[Daemon]\nDemotion=true\n",
                     "2: Invalid value \"true\" for Demotion= in [Daemon]: expected yes, no or keep",
                     "bad Demotion");
        expect_error("[Daemon]\nUeventSource=dbus\n",
                     "2: Invalid value \"dbus\" for UeventSource= in [Daemon]: expected kernel or udev",
                     "bad UeventSource");
        expect_error(
                "[Daemon]\nLogLevel=loud\n",
                "2: Invalid value \"loud\" for LogLevel= in [Daemon]: expected emerg, alert, crit, err, "
                "warning, notice, info or debug",
                "bad LogLevel");
        expect_error("[Daemon]\nMaxAttempts=0\n",
                     "2: Invalid value \"0\" for MaxAttempts= in [Daemon]: expected a number from 1 to 1000",
                     "bad MaxAttempts");
        expect_error("[Daemon]\nRetrySec=later\n",
                     "2: Invalid value \"later\" for RetrySec= in [Daemon]: expected a time such as 1 or "
                     "500ms, at "
                     "most 3600 (an hour)",
                     "bad RetrySec");
        expect_error(
                "[Daemon]\nOfflineTimeoutSec=-1\n",
                "2: Invalid value \"-1\" for OfflineTimeoutSec= in [Daemon]: expected a time such as 30, "
                "2min or 0 (no limit), at most 86400 (a day)",
                "bad OfflineTimeoutSec");
        /* The textfile collector reads *.prom only: any other name would never be scraped. */
        expect_error("[Daemon]\nMetricsFile=memhotplugd.prom\n",
                     "2: Invalid value \"memhotplugd.prom\" for MetricsFile= in [Daemon]: expected an "
                     "absolute path ending in .prom, or no",
                     "relative MetricsFile");
        expect_error("[Daemon]\nMetricsFile=/var/lib/prometheus/node-exporter/memhotplugd.txt\n",
                     "2: Invalid value \"/var/lib/prometheus/node-exporter/memhotplugd.txt\" for "
                     "MetricsFile= in [Daemon]: expected an absolute path ending in .prom, or no",
                     "MetricsFile not ending in .prom");
        expect_error("[Daemon]\nMetricsFile=/.prom/\n",
                     "2: Invalid value \"/.prom/\" for MetricsFile= in [Daemon]: expected an absolute "
                     "path ending in .prom, or no",
                     "MetricsFile naming a directory");
        expect_error("[Node x]\nOnline=kernel\n",
                     "2: Invalid section [Node x]: expected [Node N] with N from 0 to 1023", "[Node x]");
        expect_error("[Node]\nOnline=kernel\n",
                     "2: Invalid section [Node]: expected [Node N] with N from 0 to 1023",
                     "[Node] without a number");
        expect_error("[Node 1024]\nOnline=kernel\n",
                     "2: Invalid section [Node 1024]: expected [Node N] with N from 0 to 1023",
                     "node out of range");
        expect_error("[Node 1]\nChunkBlocks=3\n", "2: Unknown key ChunkBlocks= in section [Node 1]",
                     "a [Daemon] key in [Node 1]");
        expect_error("[Daemon]\nChunkBlocks=4\njust words\n",
                     "3: Syntax error: expected [Section] or Key=Value", "a line without =");
        expect_error("[Daemon\nChunkBlocks=4\n", "1: Syntax error: expected [Section] or Key=Value",
                     "an unclosed section");
        expect_error("Online=movable\n", "1: Key Online= outside of any [Section]",
                     "a key before any section");
        expect_error("[Daemon]\nChunkBlocks=4\nChunkBlocks=5\n[Memory]\nOnline=x\nOnline=y\n",
                     "5: Invalid value \"x\" for Online= in [Memory]: expected movable, kernel, online, "
                     "offline, "
                     "auto-movable or platform",
                     "the first of several errors is reported");
}

/* Every time key is bounded at parse time, so that now + value cannot wrap: before,
 * OfflineTimeoutSec=18446744073709551615us was taken and an offline "timed out after
 * 18446744073709.6s" at once. The bound itself is accepted, a microsecond more is not. */
static void test_time_bounds(void)
{
        static const struct {
                const char *key, *max, *over, *expected;
                size_t offset;
        } keys[] = {
                { "ChunkPauseSec", "3600", "3600.000001",
                  "a time such as 0, 0.5 or 200ms, at most 3600 (an hour)",
                  offsetof(Config, chunk_pause_usec) },
                { "RetrySec", "60min", "3600000001us", "a time such as 1 or 500ms, at most 3600 (an hour)",
                  offsetof(Config, retry_usec) },
                { "OfflineTimeoutSec", "86400s", "86400.000001",
                  "a time such as 30, 2min or 0 (no limit), at most 86400 (a day)",
                  offsetof(Config, offline_timeout_usec) },
        };
        static const char *const huge[] = {
                "18446744073709551615us", /* UINT64_MAX: "no limit" to some, a wrap to now + value */
                "18446744073709551616us", /* one more: the parser's own overflow */
                "18446744073709551615",   /* seconds: overflows in the multiplication */
                "307445734561825860min",  /* just under UINT64_MAX microseconds */
                "9223372036854.775807",   /* INT64_MAX microseconds, as seconds */
        };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(freep) char *text = NULL, *error = NULL, *want = NULL, *what = NULL;

                if (asprintf(&text, "[Daemon]\n%s=%s\n", keys[i].key, keys[i].max) < 0)
                        abort();
                tap_ok(load(text, &c, &error) == 0, "%s=%s (the bound) accepted", keys[i].key, keys[i].max);
                tap_ok(c && *(uint64_t *)((char *)c + keys[i].offset) ==
                                       3600 * USEC_PER_SEC * (i == 2 ? 24 : 1),
                       "%s= holds the bound", keys[i].key);

                free(text);
                text = NULL;
                if (asprintf(&text, "[Daemon]\n%s=%s\n", keys[i].key, keys[i].over) < 0 ||
                    asprintf(&want, "2: Invalid value \"%s\" for %s= in [Daemon]: expected %s", keys[i].over,
                             keys[i].key, keys[i].expected) < 0)
                        abort();
                if (asprintf(&what, "%s=%s (a microsecond over)", keys[i].key, keys[i].over) < 0)
                        abort();
                expect_error(text, want, what);

                for (size_t j = 0; j < ELEMENTSOF(huge); j++) {
                        free(text);
                        free(want);
                        free(what);
                        text = want = what = NULL;
                        if (asprintf(&text, "[Daemon]\n%s=%s\n", keys[i].key, huge[j]) < 0 ||
                            asprintf(&want, "2: Invalid value \"%s\" for %s= in [Daemon]: expected %s",
                                     huge[j], keys[i].key, keys[i].expected) < 0 ||
                            asprintf(&what, "%s=%s", keys[i].key, huge[j]) < 0)
                                abort();
                        expect_error(text, want, what);
                }
        }
}

/* Numbers are decimal whatever they look like (the strict grammar of parse-util.c). */
static void test_numbers(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;

        expect_error(
                "[Daemon]\nRetrySec=1e3\n",
                "2: Invalid value \"1e3\" for RetrySec= in [Daemon]: expected a time such as 1 or 500ms, at "
                "most 3600 (an hour)",
                "RetrySec=1e3");
        expect_error("[Daemon]\nChunkPauseSec=0x1p4\n",
                     "2: Invalid value \"0x1p4\" for ChunkPauseSec= in [Daemon]: expected a time such as 0, "
                     "0.5 or 200ms, at most 3600 (an hour)",
                     "ChunkPauseSec=0x1p4");
        expect_error("[Dax a]\nMatchSize=0x10G-\n",
                     "2: Invalid value \"0x10G-\" for MatchSize= in [Dax a]: expected a size range such as "
                     "1G-64G, 16G- or -1T",
                     "MatchSize=0x10G-");
        expect_error(
                "[Daemon]\nChunkBlocks=0x10\n",
                "2: Invalid value \"0x10\" for ChunkBlocks= in [Daemon]: expected a number of blocks, 1 "
                "or more",
                "ChunkBlocks=0x10");
        tap_ok(load("[Dax a]\nMatchSize=010G-\n", &c, &error) == 0 && c && c->n_dax_rules == 1 &&
                       c->dax_rules[0].match_size.min == (UINT64_C(10) << 30),
               "MatchSize=010G- is 10 GiB and up, not octal 8 GiB (%s)", strna(error));
}

static char *many_rules(unsigned n, const char *extra)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                abort();
        for (unsigned i = 0; i < n; i++)
                fprintf(f, "[Dax r%u]\nMatchNode=%u\n", i, i % 1024);
        fputs(extra, f);
        fclose(f);
        return text;
}

/* Loading is linear in the rules, and bounded: CONFIG_DAX_RULES_MAX of them. */
static void test_many_rules(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *text = NULL, *want = NULL;
        const DaxRule *r;

        /* A rule named again after all others is the same rule, found by name. */
        text = many_rules(CONFIG_DAX_RULES_MAX, "[Dax r0]\nMode=system-ram\n[Dax r4095]\nMode=ignore\n");
        tap_ok(load(text, &c, &error) == 0 && c, "4096 [Dax NAME] rules load (%s)", strna(error));
        if (c) {
                tap_is_int(c->n_dax_rules, CONFIG_DAX_RULES_MAX, "4096 rules, none doubled");
                r = config_find_dax_rule(c, "r0");
                tap_ok(r && r == &c->dax_rules[0] && r->mode == DAX_MODE_SYSTEM_RAM && r->match_node == 0,
                       "a rule named again keeps its place and gets the new key");
                r = config_find_dax_rule(c, "r4095");
                tap_ok(r && r->mode == DAX_MODE_IGNORE && r->match_node == 4095 % 1024, "the last rule too");
        }
        config_free(TAKE_PTR(c));
        free(TAKE_PTR(error));
        free(text);

        text = many_rules(CONFIG_DAX_RULES_MAX + 1, "");
        if (asprintf(&want, "%s/main.conf:%u: Too many [Dax NAME] rules (max 4096)", dir,
                     2 * CONFIG_DAX_RULES_MAX + 2) < 0)
                abort();
        tap_ok(load(text, &c, &error) < 0 && !c, "4097 rules are refused");
        tap_is_str(error, want, "with the line of the first rule too many");
}

static void test_many_rules_with_daxctl(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *text = NULL, *extra = NULL, *ddir = NULL, *dconf = NULL;

        if (asprintf(&ddir, "%s/daxctl-many", dir) < 0 ||
            asprintf(&extra, "[Dax]\nImportDaxctlConfig=yes\nDaxctlConfigDirectory=%s\n", ddir) < 0)
                abort();
        mkdir(ddir, 0755);
        dconf = write_file("daxctl-many/d.conf",
                           "[reconfigure-device x]\nnvdimm.uuid = 8d2a5f3e-0000-4000-8000-000000000000\n");
        text = many_rules(CONFIG_DAX_RULES_MAX, extra);
        tap_ok(load(text, &c, &error) < 0 && !c, "a daxctl rule past 4096 native ones is refused");
        tap_ok(error && strstr(error, "d.conf: Too many rules (max 4096"), "with: %s", strna(error));
        unlink(dconf);
        rmdir(ddir);
}

static void test_unreadable(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *path = NULL;
        int r;

        if (asprintf(&path, "%s/a-directory.conf", dir) < 0)
                abort();
        mkdir(path, 0755);
        r = config_load(path, true, &c, &error);
        tap_ok(r < 0 && !c, "a directory given as the config file is refused");
        tap_ok(error && strstr(error, "a-directory.conf: Cannot read: Is a directory"), "with: %s",
               strna(error));
        rmdir(path);
}

static void test_dump(void)
{
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        _cleanup_(freep) char *error = NULL, *text = NULL, *path = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        r = load("[Daemon]\nChunkBlocks=12\nChunkPauseSec=1.5\nRetrySec=3599.000001\n"
                 "OfflineTimeoutSec=0\n"
                 "[Node 2]\nOnline=offline\n",
                 &c, &error);
        tap_ok(r == 0, "config for the dump test parses");
        if (r < 0)
                return;
        f = open_memstream(&text, &size);
        config_dump(c, f);
        fclose(f);
        path = write_file("dumped.conf", text);
        r = config_load(path, true, &again, &error);
        tap_ok(r == 0 && again && again->chunk_blocks == 12 && again->chunk_pause_usec == 1500000 &&
                       again->retry_usec == UINT64_C(3599000001) && again->offline_timeout_usec == 0 &&
                       config_find_node(again, 2) &&
                       config_find_node(again, 2)->online == ONLINE_TYPE_OFFLINE,
               "--check-config output reads back as the same policy");
        unlink(path);
}

int main(void)
{
        _cleanup_(freep) char *main_conf = NULL;

        if (!mkdtemp(dir))
                return 1;
        test_defaults();
        test_full();
        test_placement_keys();
        test_reset_and_dropins();
        test_errors();
        test_numbers();
        test_time_bounds();
        test_many_rules();
        test_many_rules_with_daxctl();
        test_unreadable();
        test_dump();

        if (asprintf(&main_conf, "%s/main.conf", dir) >= 0)
                unlink(main_conf);
        rmdir(dir);
        return tap_done();
}

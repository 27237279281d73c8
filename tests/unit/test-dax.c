/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dax-policy.h"
#include "macro.h"
#include "tap.h"

/* [Dax] and [Dax NAME] parsing, the daxctl import, and the device decision table. */

static char dir[] = "/tmp/memhotplugd-test-dax.XXXXXX";

#include "conf-files.h"

static void expect_error(const char *content, const char *want, const char *what)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;

        tap_ok(load(content, &c, &error) < 0 && !c, "%s: refused", what);
        tap_ok(error && strstr(error, want), "%s: %s", what, strna(error));
}

static const char *const rules = "[Dax]\n"
                                 "Mode=devdax\n"
                                 "MemmapOnMemory=auto\n"
                                 "\n"
                                 "[Dax cxl-expanders]\n"
                                 "MatchSource=cxl\n"
                                 "MatchSize=16G-\n"
                                 "Mode=system-ram\n"
                                 "MemmapOnMemory=yes\n"
                                 "\n"
                                 "[Dax one-card]\n"
                                 "MatchCXLSerial=0x1234\n"
                                 "MatchCXLRegion=region7\n"
                                 "Mode=ignore\n"
                                 "\n"
                                 "[Dax hmem]\n"
                                 "MatchSource=hmem nvdimm\n"
                                 "MatchDevice=dax1.* dax2.0\n"
                                 "MatchNode=2\n"
                                 "Mode=system-ram\n"
                                 "Online=kernel\n"
                                 "MemmapOnMemory=no\n"
                                 "\n"
                                 "[Dax pmem]\n"
                                 "MatchNvdimmUUID=ED93E918-E165-49D8-921D-383D7B9660C5\n"
                                 "Mode=system-ram\n";

static void test_parse(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        const DaxRule *r;

        tap_ok(load(rules, &c, &error) == 0 && c, "dax rules parse (%s)", strna(error));
        if (!c)
                return;
        tap_is_int(c->n_dax_rules, 4, "four named rules");
        tap_is_str(c->dax_rules[0].name, "cxl-expanders", "rules keep their order");
        r = config_find_dax_rule(c, "cxl-expanders");
        tap_ok(r && r->match_source == DAX_SOURCE_CXL && r->match_size.min == 16ull << 30 &&
                       r->match_size.max == UINT64_MAX && r->memmap == MEMMAP_YES && r->online < 0,
               "[Dax cxl-expanders]: source, size, memmap; Online= left to [Dax]");
        r = config_find_dax_rule(c, "one-card");
        tap_ok(r && r->match_cxl_serial == 0x1234 && streq_ptr(r->match_cxl_region, "region7") &&
                       r->mode == DAX_MODE_IGNORE,
               "[Dax one-card]: serial, region");
        r = config_find_dax_rule(c, "hmem");
        tap_ok(r && r->match_source == (DAX_SOURCE_HMEM | DAX_SOURCE_NVDIMM) && r->match_node == 2 &&
                       streq_ptr(r->match_device, "dax1.* dax2.0"),
               "[Dax hmem]: source list, node, globs");
        tap_is_int(c->dax.mode, DAX_MODE_DEVDAX, "[Dax] Mode");
}

static DaxFacts facts(const char *name, DaxSource source, uint64_t size)
{
        return (DaxFacts){
                .name = name,
                .source = source,
                .target_node = 0,
                .size = size,
                .driver = DAX_DRIVER_DEVICE_DAX,
                .memmap_attr = true,
                .memmap_global = true,
                .memmap = 0,
        };
}

static void test_decide(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        DaxFacts f;
        DaxDecision d;

        if (load(rules, &c, &error) < 0)
                return;

        f = facts("dax0.0", DAX_SOURCE_CXL, 32ull << 30);
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_CONVERT && d.write_memmap && d.memmap_value &&
                       d.online == ONLINE_TYPE_MOVABLE,
               "big CXL device: converted, memmap on the device, movable");
        tap_is_str(d.rule, "[Dax cxl-expanders]", "rule named");

        f.memmap_attr = false;
        dax_policy_decide(c, &f, &d);
        tap_is_int(d.action, DAX_ACTION_REFUSE,
                   "MemmapOnMemory=yes on a kernel without the attribute: refused");
        tap_ok(strstr(d.reason, "Linux 6.8") != NULL, "and the reason says why: %s", d.reason);
        f.memmap_attr = true;
        f.memmap_global = false;
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_REFUSE && strstr(d.reason, "memory_hotplug.memmap_on_memory is off"),
               "MemmapOnMemory=yes with the module parameter off: refused");

        f = facts("dax0.0", DAX_SOURCE_CXL, 8ull << 30);
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_LEAVE && streq(d.rule, "[Dax]"),
               "small CXL device: [Dax] Mode=devdax");

        f = facts("dax3.0", DAX_SOURCE_CXL, 32ull << 30);
        f.cxl_serials = (const uint64_t[]){ 0x99, 0x1234 };
        f.n_cxl_serials = 2;
        f.cxl_region = "region7";
        dax_policy_decide(c, &f, &d);
        tap_is_str(d.rule, "[Dax cxl-expanders]", "the first matching rule wins over a later, narrower one");

        f = facts("dax1.3", DAX_SOURCE_HMEM, 4ull << 30);
        f.target_node = 2;
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_CONVERT && d.online == ONLINE_TYPE_KERNEL && d.write_memmap &&
                       !d.memmap_value,
               "HMEM on node 2: converted, kernel zone, memmap written 0");
        f.target_node = 1;
        dax_policy_decide(c, &f, &d);
        tap_is_str(d.rule, "[Dax]", "HMEM on another node: no match");

        f = facts("dax5.0", DAX_SOURCE_NVDIMM, 1ull << 30);
        f.nvdimm_uuid = "ed93e918-e165-49d8-921d-383d7b9660c5";
        f.memmap_attr = false;
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_CONVERT && !d.write_memmap && strstr(d.reason, "kernel lacks"),
               "NVDIMM by UUID (any case), MemmapOnMemory=auto without support: converted anyway, says so");

        f.driver = DAX_DRIVER_KMEM;
        dax_policy_decide(c, &f, &d);
        tap_is_int(d.action, DAX_ACTION_NONE, "already system-ram: nothing to convert");
        tap_is_int(d.online, ONLINE_TYPE_MOVABLE, "its blocks follow the rule's Online=");
}

/* Bound to kmem before the daemon looked (the kernel's default for CXL regions): the rule still
 * decides what the device is and where its memmap lies. */
static void test_decide_kmem(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        DaxFacts f;
        DaxDecision d;

        if (load(rules, &c, &error) < 0)
                return;

        f = facts("dax0.0", DAX_SOURCE_CXL, 4ull << 30);
        f.driver = DAX_DRIVER_KMEM;
        f.memmap = 1;
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_REVERT && strstr(d.reason, "[Dax] Mode=devdax"),
               "kmem, rule says devdax: revert (%s)", d.reason);

        f = facts("dax1.0", DAX_SOURCE_HMEM, 1ull << 30);
        f.target_node = 2;
        f.driver = DAX_DRIVER_KMEM;
        f.memmap = 1;
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_REBIND && d.write_memmap && !d.memmap_value &&
                       strstr(d.reason, "MemmapOnMemory=no"),
               "kmem with the memmap on the device, rule says no: rebind without it (%s)", d.reason);
        f.memmap = 0;
        dax_policy_decide(c, &f, &d);
        tap_is_int(d.action, DAX_ACTION_NONE, "kmem with the memmap in RAM, rule says no: nothing to do");

        f = facts("dax3.0", DAX_SOURCE_CXL, 16ull << 30);
        f.driver = DAX_DRIVER_KMEM;
        f.memmap = 0;
        dax_policy_decide(c, &f, &d);
        tap_ok(d.action == DAX_ACTION_REBIND && d.write_memmap && d.memmap_value,
               "kmem with the memmap in RAM, rule says yes: rebind with it (%s)", d.reason);
        f.memmap_global = false;
        dax_policy_decide(c, &f, &d);
        tap_is_int(d.action, DAX_ACTION_NONE, "... but the kernel cannot: left as it is");
        f.memmap_global = true;
        f.memmap = -1;
        f.memmap_attr = false;
        dax_policy_decide(c, &f, &d);
        tap_is_int(d.action, DAX_ACTION_NONE, "no per-device attribute: nothing to rebind with");
}

static void test_errors(void)
{
        expect_error("[Dax]\nMatchSource=cxl\n",
                     "main.conf:2: MatchSource= in [Dax]: match keys belong in a named rule",
                     "Match key in [Dax]");
        expect_error("[Dax a]\nMatchSource=pci\n",
                     "main.conf:2: Invalid value \"pci\" for MatchSource=", "bad source");
        expect_error("[Dax a]\nMatchSize=lots\n",
                     "main.conf:2: Invalid value \"lots\" for MatchSize=", "bad size");
        expect_error("[Dax a]\nMatchSize=64G-1G\n",
                     "main.conf:2: Invalid value \"64G-1G\" for MatchSize=", "backwards size range");
        expect_error("[Dax a]\nMatchMemoryTier=65536\n",
                     "main.conf:2: Invalid value \"65536\" for MatchMemoryTier= in [Dax a]: expected a "
                     "memory tier "
                     "number N of memory_tierN, e.g. 4",
                     "memory tier out of range");
        expect_error(
                "[Dax a]\nMatchMemoryTier=memory_tier4\n",
                "main.conf:2: Invalid value \"memory_tier4\" for MatchMemoryTier=", "memory tier by name");
        expect_error("[Dax a]\nMatchNodeCPUs=some\n",
                     "main.conf:2: Invalid value \"some\" for MatchNodeCPUs= in [Dax a]: expected yes or no",
                     "bad MatchNodeCPUs=");
        expect_error("[Dax a]\nMatchNvdimmUUID=1234\n",
                     "main.conf:2: Invalid value \"1234\" for MatchNvdimmUUID=", "bad uuid");
        expect_error("[Dax a]\nMatchCXLRegion=decoder0.0\n",
                     "main.conf:2: Invalid value \"decoder0.0\" for MatchCXLRegion=", "bad region");
        expect_error("[Dax a]\nMode=ram\n",
                     "main.conf:2: Invalid value \"ram\" for Mode= in [Dax a]: expected "
                     "system-ram, devdax or ignore",
                     "bad mode");
        expect_error("[Dax a b]\nMode=devdax\n", "main.conf:2: Invalid section [Dax a b]",
                     "rule name with a blank");
        expect_error("[Dax a]\nImportDaxctlConfig=yes\n",
                     "main.conf:2: Unknown key ImportDaxctlConfig= in section [Dax a]",
                     "[Dax]-only key in a rule");
}

static void test_daxctl_import(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL, *d = NULL, *conf = NULL, *a = NULL, *b = NULL;
        const DaxRule *r;

        if (asprintf(&d, "%s/daxctl.conf.d", dir) < 0 || asprintf(&conf,
                                                                  "[Dax]\nImportDaxctlConfig=yes\n"
                                                                  "DaxctlConfigDirectory=%s\n"
                                                                  "[Dax native]\nMatchSource=cxl\n",
                                                                  d) < 0)
                abort();
        mkdir(d, 0755);
        a = write_file("daxctl.conf.d/daxctl.conf", "# written for daxctl\n"
                                                    "[reconfigure-device unique_identifier_foo]\n"
                                                    "nvdimm.uuid = ed93e918-e165-49d8-921d-383d7b9660c5\n"
                                                    "mode = system-ram\n"
                                                    "online = true\n"
                                                    "movable = false\n"
                                                    "[reconfigure-device bar]\n"
                                                    "nvdimm.uuid = 11111111-2222-3333-4444-555555555555\n"
                                                    "online = false\n");
        tap_ok(load(conf, &c, &error) == 0 && c, "daxctl config imported (%s)", strna(error));
        if (c) {
                tap_is_int(c->n_dax_rules, 3, "two imported rules after the native one");
                r = config_find_dax_rule(c, "daxctl:unique_identifier_foo");
                tap_ok(r && r == &c->dax_rules[1] && r->mode == DAX_MODE_SYSTEM_RAM &&
                               r->online == ONLINE_TYPE_KERNEL &&
                               streq_ptr(r->match_nvdimm_uuid, "ed93e918-e165-49d8-921d-383d7b9660c5"),
                       "online=true movable=false: system-ram, kernel zone");
                r = config_find_dax_rule(c, "daxctl:bar");
                tap_ok(r && r->mode == DAX_MODE_SYSTEM_RAM && r->online == ONLINE_TYPE_OFFLINE,
                       "online=false: converted, left offline");
        }
        config_free(TAKE_PTR(c));
        free(TAKE_PTR(error));

        b = write_file("daxctl.conf.d/zz-bad.conf", "[reconfigure-device baz]\nmode = system-ram\n");
        tap_ok(load(conf, &c, &error) < 0 && error &&
                       strstr(error, "zz-bad.conf: [reconfigure-device baz] has no nvdimm.uuid="),
               "a daxctl section without a UUID is an error naming the file: %s", strna(error));
        unlink(b);
        free(b);
        free(TAKE_PTR(error));
        b = write_file("daxctl.conf.d/zz-bad.conf", "[reconfigure-device baz]\nnvdimm.uuid = x\n");
        tap_ok(load(conf, &c, &error) < 0 && error &&
                       strstr(error, "zz-bad.conf:2: Invalid nvdimm.uuid \"x\""),
               "a bad UUID names file and line: %s", strna(error));
        unlink(b);
        unlink(a);
        rmdir(d);
}

/* MatchMemoryTier= and MatchNodeCPUs=: the target node's tier and CPUs. */
static void test_tier_keys(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        DaxFacts f;
        DaxDecision d;

        if (load("[Dax]\nMode=devdax\n\n"
                 "[Dax slow-tier]\nMatchMemoryTier=22\nMode=system-ram\nOnline=movable\n\n"
                 "[Dax cpuless]\nMatchNodeCPUs=no\nMode=system-ram\nOnline=kernel\n",
                 &c, &error) < 0) {
                tap_ok(false, "tier rules parse: %s", strna(error));
                return;
        }
        f = facts("dax0.0", DAX_SOURCE_CXL, 16ull << 30);
        f.target_tier = 22;
        f.target_cpus = 0;
        dax_policy_decide(c, &f, &d);
        tap_is_str(d.rule, "[Dax slow-tier]", "a node in memory_tier22 matches MatchMemoryTier=22");
        f.target_tier = -1;
        dax_policy_decide(c, &f, &d);
        tap_is_str(d.rule, "[Dax cpuless]",
                   "a node in no tier yet does not; a CPU-less node matches MatchNodeCPUs=no");
        f.target_cpus = 1;
        dax_policy_decide(c, &f, &d);
        tap_is_str(d.rule, "[Dax]", "a node with CPUs does not match MatchNodeCPUs=no");
        f.target_cpus = -1;
        dax_policy_decide(c, &f, &d);
        tap_is_str(d.rule, "[Dax]", "nor does a node whose CPUs are unknown");
}

int main(void)
{
        _cleanup_(freep) char *main_conf = NULL;

        if (!mkdtemp(dir))
                return 1;
        test_tier_keys();
        test_parse();
        test_decide();
        test_decide_kmem();
        test_errors();
        test_daxctl_import();
        if (asprintf(&main_conf, "%s/main.conf", dir) >= 0)
                unlink(main_conf);
        rmdir(dir);
        return tap_done();
}

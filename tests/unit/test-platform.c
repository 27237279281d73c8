/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "macro.h"
#include "platform.h"
#include "policy.h"
#include "tap.h"

/* Online=platform over a table of machines, and its resolution in a loaded config. */

static const struct {
        const char *name;
        PlatformFacts facts;
        OnlineType want;
        const char *reason;
} cases[] = {
        { "bare metal x86_64",
          { "x86_64", VIRT_NONE, BALLOON_NONE },
          ONLINE_TYPE_AUTO_MOVABLE,
          "x86_64, bare metal: movable while the ratio holds" },
        { "bare metal arm64", { "aarch64", VIRT_NONE, BALLOON_NONE }, ONLINE_TYPE_AUTO_MOVABLE, NULL },
        { "KVM guest with virtio-balloon",
          { "x86_64", VIRT_KVM, BALLOON_VIRTIO },
          ONLINE_TYPE_AUTO_MOVABLE,
          "x86_64, kvm virtual machine with virtio_balloon: movable while the ratio holds" },
        { "Hyper-V guest with hv_balloon",
          { "x86_64", VIRT_HYPERV, BALLOON_HYPERV },
          ONLINE_TYPE_ONLINE,
          "x86_64, hyperv virtual machine with hv_balloon (its pages do not migrate): the kernel's zone" },
        { "Xen guest with its balloon", { "x86_64", VIRT_XEN, BALLOON_XEN }, ONLINE_TYPE_ONLINE, NULL },
        { "VMware guest with vmw_balloon",
          { "x86_64", VIRT_VMWARE, BALLOON_VMWARE },
          ONLINE_TYPE_ONLINE,
          NULL },
        { "s390x, even virtualised",
          { "s390x", VIRT_KVM, BALLOON_VIRTIO },
          ONLINE_TYPE_OFFLINE,
          "s390x: standby memory stays offline until the administrator onlines it" },
        { "ppc64le", { "ppc64le", VIRT_OTHER, BALLOON_NONE }, ONLINE_TYPE_OFFLINE, NULL },
        { "unknown machine",
          { "", VIRT_NONE, BALLOON_NONE },
          ONLINE_TYPE_AUTO_MOVABLE,
          "unknown, bare metal: movable while the ratio holds" },
};

static void test_table(void)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char reason[160];

                tap_is_str(online_type_to_string(platform_online(&cases[i].facts, reason, sizeof(reason))),
                           online_type_to_string(cases[i].want), "%s: Online=%s", cases[i].name,
                           online_type_to_string(cases[i].want));
                if (cases[i].reason)
                        tap_is_str(reason, cases[i].reason, "%s: reason", cases[i].name);
        }
}

static void test_apply(void)
{
        BlockFacts b = { .node = 0,
                         .state = BLOCK_OFFLINE,
                         .have_valid_zones = true,
                         .valid_zones = ZONE_NORMAL | ZONE_MOVABLE,
                         .default_zone = ZONE_NORMAL };
        NodePolicy nodes[2] = { NODE_POLICY_UNSET(1), NODE_POLICY_UNSET(2) };
        Config c;
        Decision d;

        config_init_defaults(&c);
        tap_is_int(c.online, ONLINE_TYPE_PLATFORM, "the built-in default is Online=platform");
        policy_decide(&c, &b, NULL, &d);
        tap_ok(d.action == ACTION_SKIP, "an unresolved platform default onlines nothing: %s", d.reason);

        nodes[0].online = ONLINE_TYPE_PLATFORM;
        nodes[1].online = ONLINE_TYPE_KERNEL;
        c.nodes = nodes;
        c.n_nodes = 2;
        config_apply_platform(&c, ONLINE_TYPE_OFFLINE);
        tap_is_int(c.online, ONLINE_TYPE_OFFLINE, "[Memory] resolved");
        tap_is_int(nodes[0].online, ONLINE_TYPE_OFFLINE, "a [Node] following it resolved");
        tap_is_int(nodes[1].online, ONLINE_TYPE_KERNEL, "a [Node] that says otherwise kept");
        tap_is_int(c.dax.online, ONLINE_TYPE_MOVABLE, "[Dax] keeps its own default, movable");
        c.nodes = NULL;
        c.n_nodes = 0;
        dax_rule_done(&c.dax);
}

int main(void)
{
        test_table();
        test_apply();
        return tap_done();
}

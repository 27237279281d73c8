# SPDX-License-Identifier: LGPL-2.1-or-later
"""Kernel facts of one kernel version, without the daemon (docs/KERNELS.md cites them).

kernel-dax-state           7.3's daxX.Y/state: what it reads, what it takes, from which state
kernel-early-valid-zones   valid_zones of a block read before its node link (an oops on 6.12)

Both are registered for 7.3 only (tests/vm/meson.build): the first needs the file, the second
fails on 6.12, which is the fact it documents (run it there by hand to see the oops).
"""

from vm import GiB, Nvdimm


def new_blocks(before, after):
    return {n: b for n, b in after.items() if n not in before}


DAX = "/sys/bus/dax/devices/dax0.0"


def write(vm, path, value):
    """echo VALUE > PATH in the guest: (succeeded, the shell's error text)."""
    rc, out = vm.run(f"echo {value} > {path}", check=False)
    return rc == 0, out.strip()


def dax_state(vm):
    return vm.sh(f"cat {DAX}/state").strip()


def device_blocks(vm):
    """The memory blocks of dax0.0's range that exist now: {number: block}."""
    res, size = vm.sh(f"cat {DAX}/resource {DAX}/size").split()
    res, size, bs = int(res, 16), int(size, 0), vm.block_size()
    span = range(res // bs, (res + size) // bs)
    return {n: b for n, b in vm.blocks().items() if n in span}


def kernel_dax_state(ctx):
    """7.3's daxX.Y/state on an NVDIMM devdax namespace: bound offline, online only from
    unplugged, offline not writable, stale after per-block writes, memmap fixed while bound."""
    with ctx.vm(nvdimms=[Nvdimm("1G")], cmdline=["memory_hotplug.memmap_on_memory=1"]) as vm:
        ctx.booted(vm)
        ctx.note(f"guest runs Linux {vm.sh('uname -r').strip()}")
        vm.sh("ndctl create-namespace -f -e namespace0.0 -m devdax", timeout=60)
        vm.sh(f"echo 1 > {DAX}/memmap_on_memory")
        ctx.check(vm.run(f"test -e {DAX}/state", check=False)[0] != 0,
                  "no state file while device_dax is bound (it is kmem's attribute)")

        # Bound while auto_online_blocks=offline (memhp_default_state=offline): added, offline.
        vm.sh("echo dax0.0 > /sys/bus/dax/drivers/device_dax/unbind && "
              "echo dax0.0 > /sys/bus/dax/drivers/kmem/new_id")
        blocks = device_blocks(vm)
        n = len(blocks)
        ctx.check(dax_state(vm) == "offline" and n and
                  all(b["state"] == "offline" for b in blocks.values()),
                  f"kmem bound under auto_online_blocks=offline: state reads offline, "
                  f"{n} blocks added offline", diag=blocks, fatal=True)
        ok, err = write(vm, f"{DAX}/state", "online_movable")
        ctx.check(not ok and "busy" in err.lower(), "online_movable from offline: EBUSY", diag=err)
        ok, err = write(vm, f"{DAX}/state", "offline")
        ctx.check(not ok and "invalid" in err.lower(), "offline is not writable: EINVAL", diag=err)

        # Someone onlines the blocks one by one: the file does not follow.
        vm.sh("for b in " + " ".join(f"memory{i}" for i in sorted(blocks)) +
              "; do echo online_movable > /sys/devices/system/memory/$b/state; done")
        ctx.check(dax_state(vm) == "offline" and
                  all(b["state"] == "online" for b in device_blocks(vm).values()),
                  "blocks onlined one by one: every block online, state still reads offline")

        ok, err = write(vm, f"{DAX}/state", "unplugged")
        ctx.check(ok and dax_state(vm) == "unplugged" and not device_blocks(vm),
                  "unplugged offlines and removes every block (online ones too)", diag=err)
        ok, err = write(vm, f"{DAX}/memmap_on_memory", "0")
        ctx.check(not ok and "busy" in err.lower(),
                  "memmap_on_memory cannot change while kmem is bound, even unplugged: EBUSY",
                  diag=err)

        ok, err = write(vm, f"{DAX}/state", "online_movable")
        blocks = device_blocks(vm)
        ctx.check(ok and dax_state(vm) == "online_movable" and len(blocks) == n and
                  all(b["state"] == "online" and b["zones"] == ["Movable"] for b in blocks.values()),
                  f"one write of online_movable from unplugged: {n} blocks added and online in "
                  "Movable", diag=f"{err} {blocks}")
        ok, err = write(vm, f"{DAX}/state", "online_kernel")
        ctx.check(not ok and "busy" in err.lower(),
                  "online_kernel from online_movable: EBUSY (unplugged first)", diag=err)

        # Someone offlines one block: the file still says online_movable, and writing
        # online_movable again succeeds without onlining it.
        first = min(blocks)
        vm.sh(f"echo offline > /sys/devices/system/memory/memory{first}/state")
        ok, err = write(vm, f"{DAX}/state", "online_movable")
        ctx.check(ok and dax_state(vm) == "online_movable" and
                  device_blocks(vm)[first]["state"] == "offline",
                  f"memory{first} offlined by hand: state still online_movable, and a write of "
                  "online_movable succeeds but leaves it offline", diag=err)
        ok, err = write(vm, f"{DAX}/state", "unplugged")
        ctx.check(ok and not device_blocks(vm), "unplugged with one block offline: all removed",
                  diag=err)

        # Unbound while unplugged: nothing leaks; then bound under each auto_online_blocks
        # value: the device comes up in that state, never unplugged.
        vm.sh("echo dax0.0 > /sys/bus/dax/drivers/kmem/unbind")
        leak = vm.run("dmesg | grep -i 'stuck online'", check=False)[1]
        ctx.check(not leak.strip(), "kmem unbound while unplugged: nothing stuck", diag=leak)
        vm.sh("echo online_movable > /sys/devices/system/memory/auto_online_blocks && "
              "echo dax0.0 > /sys/bus/dax/drivers/kmem/bind")
        blocks = device_blocks(vm)
        ctx.check(dax_state(vm) == "online_movable" and len(blocks) == n and
                  all(b["state"] == "online" and b["zones"] == ["Movable"] for b in blocks.values()),
                  "kmem bound under auto_online_blocks=online_movable: state reads online_movable, "
                  "blocks online in Movable (kmem cannot bind leaving the device unplugged)",
                  diag=f"{dax_state(vm)} {blocks}")
        ok, err = write(vm, f"{DAX}/state", "unplugged")
        ctx.check(ok and not device_blocks(vm), "unplugged from online_movable", diag=err)
        vm.sh("echo dax0.0 > /sys/bus/dax/drivers/kmem/unbind")

        vm.sh("echo online > /sys/devices/system/memory/auto_online_blocks && "
              "echo dax0.0 > /sys/bus/dax/drivers/kmem/bind")
        blocks = device_blocks(vm)
        zones = sorted({z for b in blocks.values() for z in b["zones"]})
        ctx.check(dax_state(vm) == "online" and len(blocks) == n and
                  all(b["state"] == "online" for b in blocks.values()),
                  f"kmem bound under auto_online_blocks=online: state reads online, blocks online "
                  f"in {zones}", diag=f"{dax_state(vm)} {blocks}")
        # In a kernel zone the memory may be in use at once: unplugged then fails, and puts
        # back every block it had offlined (all or nothing).
        ok, err = write(vm, f"{DAX}/state", "unplugged")
        after = device_blocks(vm)
        ctx.note(f"unplugged from online ({zones}): {'done' if ok else err}")
        ctx.check((ok and not after and dax_state(vm) == "unplugged") or
                  (not ok and "busy" in err.lower() and dax_state(vm) == "online" and
                   len(after) == n and all(b["state"] == "online" for b in after.values())),
                  "unplugged from online: all removed, or EBUSY with every block still online",
                  diag=f"{err} {after}")


# A guest reader that reads valid_zones of blocks memoryFIRST..memoryLAST while they exist but have
# no nodeN link yet, over and over, logging each read it survived, until STOPFILE appears.
# Builtins only, and few names, so that it looks often next to the window it must hit.
EARLY_ZONES_READER = r"""
cd /sys/devices/system/memory
names=$(i=$1; while [ $i -le $2 ]; do echo memory$i; i=$((i + 1)); done)
while [ ! -e $3 ]; do
    for b in $names; do
        [ -e $b/valid_zones ] || continue
        l=0
        for n in $b/node*; do [ -e $n ] && l=1; done
        [ $l = 0 ] || continue
        { read -r z < $b/valid_zones; } 2>/dev/null && echo "$b $z" >> /tmp/vz.log
    done
done
"""

# Where the harness's next DIMM lands: QEMU's device memory starts at 4 GiB in a 1 GiB "pc" guest
# and DIMMs follow each other, so at block 32, then after the last block.
FIRST_DIMM_BLOCK = 32


def kernel_early_valid_zones(ctx):
    """valid_zones of a hot-added block read before its node link: safe on 7.3 (the nid is set
    when the block is made), an oops on 6.12 (NODE_DATA(NUMA_NO_NODE)), which the daemon waits out."""
    with ctx.vm(maxmem="32G") as vm:
        ctx.booted(vm)
        ctx.note(f"guest runs Linux {vm.sh('uname -r').strip()}")
        bs = vm.block_size()
        vm.write_file("/tmp/vz.sh", EARLY_ZONES_READER, mode="755")
        vm.sh(": > /tmp/vz.log")
        # The window between a block's add and its node link lasts until the last block of the
        # add exists (the links come after it), so it is widest for the first blocks of a large
        # DIMM; those are what the reader watches. A try it misses (a busy host) is followed by
        # another.
        for attempt in range(1, 4):
            before = vm.blocks()
            first = max(FIRST_DIMM_BLOCK, max(before) + 1)
            vm.sh(f"(setsid sh /tmp/vz.sh {first} {first + 3} /tmp/vz.stop{attempt} </dev/null "
                  ">/dev/null 2>&1 & echo $! > /tmp/vz.pid)")
            vm.hotplug_dimm("8G", reserve=False)
            want = 8 * GiB // bs

            def linked():
                added = new_blocks(before, vm.blocks())
                return len(added) == want and all(b["node"] is not None for b in added.values())
            vm.wait_until(linked, timeout=120, what="hot-added blocks with their node links")
            alive = vm.run("kill -0 $(cat /tmp/vz.pid)", check=False)[0] == 0
            vm.sh(f"touch /tmp/vz.stop{attempt}")
            if not alive or vm.sh("cat /tmp/vz.log").strip():
                break
            ctx.note(f"try {attempt}: the reader hit no block before its node link")
        reads = vm.sh("cat /tmp/vz.log").splitlines()
        oops = vm.run("dmesg | grep -E 'BUG:|Oops|general protection'", check=False)[1]
        ctx.note(f"{len(reads)} read(s) of valid_zones before a node link, e.g. {reads[:2]}")
        ctx.check(alive, "the reader survived its reads", diag=oops)
        ctx.check(not oops.strip(), "no oops in the guest's kernel log", diag=oops)
        # On 6.12 the first such read kills the reader before it can log it: no reads and a
        # dead reader fail above. A live reader that never hit the window proves nothing.
        if not reads and alive:
            ctx.tap.skip(f"{ctx.name}: a read before the node link",
                         "the reader hit no block before its node link in 3 hot-adds (a busy host)")


SCENARIOS = {
    "kernel-dax-state": kernel_dax_state,
    "kernel-early-valid-zones": kernel_early_valid_zones,
}

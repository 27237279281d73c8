# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory hot-added to a guest that has almost none left (driven by test_vm.py).

A 1 GiB guest without swap: a process (tests/vm/mem-hog.c) takes all but a little of the
available memory and holds it; a 2 GiB DIMM is hot-added; once its blocks are online a second
process takes 1 GiB of the new memory. Run three times, each in a fresh guest: with the kernel
onlining the DIMM itself (memhp_default_state=online_movable, the baseline), with memhotplugd in
takeover (it writes every block's state) and in delegate (it sets the kernel's knobs). Passes when
the memory comes online and nothing is OOM-killed; prints the time from device_add to the last
block online for each.
"""

import os
import shutil
import subprocess
import tempfile
import time

from vm import HERE, VMError
from scenarios_daemon import (config, daemon_log, daemon_vm, start_daemon, stop_daemon,
                              wait_new_blocks)

LEFT_MIB = 64      # what the first process leaves available
SECOND_MIB = 1024  # what the second one takes from the hot-added memory


def build_hog():
    tmpdir = tempfile.mkdtemp(prefix="mhp-hog.")
    out = os.path.join(tmpdir, "mem-hog")
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-O2", "-Wall", "-static", "-o", out, os.path.join(HERE, "mem-hog.c")],
                   check=True)
    return tmpdir, out


def hog(vm, mib, tag, timeout=120):
    """Starts mem-hog in the background; waits until it holds mib MiB (or died)."""
    vm.sh(f"(setsid mem-hog {mib} > /tmp/hog-{tag}.out 2>&1 & echo $! > /tmp/hog-{tag}.pid)")
    vm.wait_until(lambda: "held" in vm.sh(f"cat /tmp/hog-{tag}.out") or
                  vm.run(f"kill -0 $(cat /tmp/hog-{tag}.pid)", check=False)[0] != 0,
                  timeout=timeout, interval=0.5, what=f"mem-hog {tag} holding {mib} MiB")
    return "held" in vm.sh(f"cat /tmp/hog-{tag}.out")


def alive(vm, tag):
    return vm.run(f"kill -0 $(cat /tmp/hog-{tag}.pid)", check=False)[0] == 0


def run(ctx, daemon):
    """One guest under pressure (daemon: None, "takeover" or "delegate"); returns the seconds
    from device_add to all blocks online."""
    what = f"memhotplugd ({daemon})" if daemon else "kernel auto-online"
    tmpdir, hog_bin = build_hog()
    try:
        kw = {} if daemon else {"auto_online": "online_movable"}
        with daemon_vm(ctx, binaries=[(hog_bin, "/usr/bin/mem-hog")], **kw) as vm:
            ctx.booted(vm)
            if daemon:
                start_daemon(ctx, vm, config(auto=daemon))
            avail = vm.meminfo("MemAvailable") >> 20
            ok = hog(vm, avail - LEFT_MIB, "boot")
            left = vm.meminfo("MemAvailable") >> 20
            ctx.check(ok, f"{what}: a process holds {avail - LEFT_MIB} MiB, {left} MiB left "
                          "available", fatal=True)
            before = vm.blocks()
            t0 = time.monotonic()
            vm.hotplug_dimm("2G")
            added = wait_new_blocks(vm, before, 16)
            try:
                vm.wait_until(lambda: all(vm.blocks().get(n, {}).get("state") == "online"
                                          for n in added), timeout=60, interval=0.05,
                              what="the DIMM's blocks online")
                seconds = time.monotonic() - t0
            except VMError as e:
                ctx.check(False, f"{what}: 2 GiB online under pressure",
                          diag=f"{e}\n{daemon_log(vm) if daemon else ''}")
                return None
            ctx.check(True, f"{what}: 2 GiB online under pressure, {seconds:.2f}s after "
                            "device_add")
            ok = hog(vm, SECOND_MIB, "new")
            ctx.check(ok, f"{what}: a second process got {SECOND_MIB} MiB of the new memory")
            dmesg = vm.run("dmesg", check=False)[1]
            killed = [ln for ln in dmesg.splitlines() if "Out of memory" in ln or "Killed process" in ln]
            ctx.check(not killed and alive(vm, "boot") and alive(vm, "new"),
                      f"{what}: nothing OOM-killed, both processes alive", diag="\n".join(killed))
            if daemon:
                rc = stop_daemon(vm)
                ctx.check(rc == 0, f"memhotplugd survived and exits 0 (got {rc})",
                          diag=daemon_log(vm))
            return seconds
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def pressure(ctx):
    k = run(ctx, daemon=None)
    d = run(ctx, daemon="takeover")
    g = run(ctx, daemon="delegate")
    if k and d and g:
        ctx.note(f"under pressure, device_add to online: kernel {k:.2f}s, memhotplugd takeover {d:.2f}s "
                 f"(ratio {d / k:.2f}), delegate {g:.2f}s (ratio {g / k:.2f}); one sample each, TCG, "
                 "real time")


SCENARIOS = {"pressure": pressure}

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
import re
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


def hog(vm, mib, tag, timeout=120, evict=""):
    """Starts mem-hog in the background; waits until it holds mib MiB (or died).
    evict: "PID KIB" to stop early once PID's RssFile is KIB or less (mem-hog --evict)."""
    cmd = f"mem-hog --evict {evict} {mib}" if evict else f"mem-hog {mib}"
    if evict:  # the OOM killer's first choice, before it touches a page
        cmd = f"sh -c 'echo 1000 > /proc/self/oom_score_adj; exec {cmd}'"
    vm.sh(f"(setsid {cmd} > /tmp/hog-{tag}.out 2>&1 & echo $! > /tmp/hog-{tag}.pid)")
    vm.wait_until(lambda: "held" in vm.sh(f"cat /tmp/hog-{tag}.out") or
                  vm.run(f"kill -0 $(cat /tmp/hog-{tag}.pid)", check=False)[0] != 0,
                  timeout=timeout, interval=0.5, what=f"mem-hog {tag} holding {mib} MiB")
    return "held" in vm.sh(f"cat /tmp/hog-{tag}.out")


def alive(vm, tag):
    return vm.run(f"kill -0 $(cat /tmp/hog-{tag}.pid)", check=False)[0] == 0


def hotadd_2g(ctx, vm, what, diag=lambda: ""):
    """Hot-adds a 2 GiB DIMM; the seconds from device_add to all its blocks online, or None (a
    failed check, with diag()) when they do not come online within a minute."""
    before = vm.blocks()
    t0 = time.monotonic()
    vm.hotplug_dimm("2G")
    added = wait_new_blocks(vm, before, 16)
    try:
        vm.wait_until(lambda: all(vm.blocks().get(n, {}).get("state") == "online" for n in added),
                      timeout=60, interval=0.05, what="the DIMM's blocks online")
    except VMError as e:
        ctx.check(False, f"{what}: 2 GiB online under pressure", diag=f"{e}\n{diag()}")
        return None
    return time.monotonic() - t0


def second_process_fits(ctx, vm, what):
    """A second process takes SECOND_MIB of the new memory; nothing may be OOM-killed."""
    ok = hog(vm, SECOND_MIB, "new")
    ctx.check(ok, f"{what}: a second process got {SECOND_MIB} MiB of the new memory")
    dmesg = vm.run("dmesg", check=False)[1]
    killed = [ln for ln in dmesg.splitlines() if "Out of memory" in ln or "Killed process" in ln]
    ctx.check(not killed and alive(vm, "boot") and alive(vm, "new"),
              f"{what}: nothing OOM-killed, both processes alive", diag="\n".join(killed))


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
            seconds = hotadd_2g(ctx, vm, what, (lambda: daemon_log(vm)) if daemon else (lambda: ""))
            if seconds is None:
                return None
            ctx.check(True, f"{what}: 2 GiB online under pressure, {seconds:.2f}s after "
                            "device_add")
            second_process_fits(ctx, vm, what)
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


# ------------------------------------------------------------ pressure-evictable

# The daemon from a file system whose pages the kernel can evict. Everything else in the guest runs
# from the initramfs, and ramfs pages are never reclaimed, so in the `pressure` scenario the daemon's
# code can never be evicted; on a real system it lives on disk and can be. Here its binary, its
# libraries and the dynamic loader are on an ext4 image (on a loop device, mounted read-only), so
# each page it executes is ext4 page cache. The loop's backing file is in RAM, so a major fault is
# cheap here: the count of major faults is what transfers to a disk, the time is only this guest's.
IMAGE = "/root/daemon.ext4"
MNT = "/mnt"
LOADER = "/lib64/ld-linux-x86-64.so.2"
PUSH_OVER_MIB = 64   # how far past MemAvailable the push may go to evict the daemon's pages (evict())
PUSH_UNDER_MIB = 16  # where it stops when nothing of the daemon's can be evicted (see evict())
SAMPLES = int(os.environ.get("MHP_PRESSURE_SAMPLES", "3"))  # fresh guests per variant
# Another memhotplugd binary (an earlier commit's) for the variant base+lock, measured side by side
# with ext4+lock: its own ext4 image, LockMemory=yes.
BASELINE = os.environ.get("MHP_PRESSURE_BASELINE", "")
VARIANTS = (  # (label, from the ext4 image, LockMemory=)
    ("ramfs", False, False),
    ("ext4", True, False),
    ("ext4+lock", True, True),
) + ((("base+lock", True, True),) if BASELINE else ())


def build_image(daemon):
    """An ext4 image with the daemon at /memhotplugd, its libraries in /lib and the loader in
    /lib64 (the libraries it dlopen()s, libdaxctl and libcxl, are for dax devices only: not on this
    path). Returns (tmpdir, image)."""
    tmpdir = tempfile.mkdtemp(prefix="mhp-ext4.")
    root = os.path.join(tmpdir, "root")
    os.makedirs(os.path.join(root, "lib"))
    os.makedirs(os.path.join(root, "lib64"))
    shutil.copy(daemon, os.path.join(root, "memhotplugd"))
    ldd = subprocess.run(["ldd", daemon], check=True, capture_output=True, text=True).stdout
    for line in ldd.splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] == "=>" and f[2].startswith("/"):
            shutil.copy(f[2], os.path.join(root, "lib", os.path.basename(f[2])))
        elif f and f[0].startswith("/"):
            shutil.copy(f[0], os.path.join(root, "lib64", os.path.basename(f[0])))
    size_kib = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(root) for n in ns) // 1024
    image = os.path.join(tmpdir, "daemon.ext4")
    # Room for the metadata and a small journal; no more, as the image itself sits in guest RAM.
    # Its stdout ("Creating regular file", even with -q) would break the TAP stream.
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", root, image, f"{size_kib + 8192}k"],
                   check=True, stdout=subprocess.DEVNULL)
    return tmpdir, image


def proc_status(vm, pid):
    """VmSize, VmRSS, RssAnon, RssFile, VmLck (KiB) and majflt of pid."""
    out = vm.sh(f"grep -E '^(VmSize|VmRSS|RssAnon|RssFile|VmLck):' /proc/{pid}/status; "
                f"cat /proc/{pid}/stat")
    st = {}
    for line in out.splitlines():
        if line.startswith("Vm") or line.startswith("Rss"):
            key, value = line.split(":", 1)
            st[key] = int(value.split()[0])
        elif ")" in line:
            # After "(comm)": state is field 3, so majflt (field 12) is the 10th.
            st["majflt"] = int(line.rsplit(")", 1)[1].split()[9])
    return st


def settled_available(vm, timeout=30):
    """MemAvailable in MiB, once two reads half a second apart agree within 1 MiB (the guest's own
    start-up and the last process's exit have settled)."""
    last = vm.meminfo("MemAvailable") >> 20
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = vm.meminfo("MemAvailable") >> 20
        if abs(now - last) <= 1:
            return min(now, last)
        last = now
    return last


class PushCollateral(Exception):
    """The push's OOM kill took another process as well: the host's load, not the daemon."""


def evict(ctx, vm, what, pid, target, past_available):
    """A second process takes memory a MiB at a time until the daemon's RssFile is target KiB or
    less, then exits. With 64 MiB left the kernel has no reason to reclaim: free memory stays above
    its watermarks. This makes it reclaim, and with no swap the clean file pages are all it can take.
    With past_available (ext4, where the daemon's pages are evicted some 30 MiB past MemAvailable,
    or must be kept by LockMemory=yes), the push may go PUSH_OVER_MIB past MemAvailable and stop once
    they are evicted; this may bring the OOM killer, whose first choice the push is (oom_score_adj
    1000). The ramfs variant has nothing to evict and stops PUSH_UNDER_MIB short of MemAvailable.
    On a host busy with another guest, the OOM killer once took the holding process too while the
    push was slow to exit: the holder is kept from it now (-1000, as the daemon), and a kill of any
    other process raises PushCollateral, for the round to be run again (the scenario must fail
    only on the daemon). MemAvailable is read once the guest has settled. Returns the daemon's
    status after, the MiB the push held, and the OOM kills (the kernel log is cleared after)."""
    vm.sh("echo -1000 > /proc/$(cat /tmp/hog-boot.pid)/oom_score_adj")
    avail = settled_available(vm)
    mib = avail + PUSH_OVER_MIB if past_available else avail - PUSH_UNDER_MIB
    hog(vm, mib, "push", evict=f"{pid} {target}")
    push_pid = vm.sh("cat /tmp/hog-push.pid").strip()
    out = vm.sh("cat /tmp/hog-push.out")
    vm.sh("kill $(cat /tmp/hog-push.pid) 2>/dev/null; while kill -0 $(cat /tmp/hog-push.pid) "
          "2>/dev/null; do sleep 0.1; done")
    m = re.search(r"held (\d+)", out)
    kills = [ln for ln in vm.run("dmesg -c", check=False)[1].splitlines() if "Killed process" in ln]
    others = [ln for ln in kills if not re.search(r"Killed process %s\b" % push_pid, ln)]
    if others or not alive(vm, "boot"):
        raise PushCollateral("; ".join(others) or "the holding process died")
    return proc_status(vm, pid), int(m.group(1)) if m else None, avail, kills


def run_evictable(ctx, image, hog_bin, label, from_ext4, lock):
    what = f"{label} (LockMemory={'yes' if lock else 'no'})"
    conf = config(auto="takeover").replace("[Daemon]\n",
                                           f"[Daemon]\nLockMemory={'yes' if lock else 'no'}\n")
    # As the unit: LimitMEMLOCK=infinity, OOMScoreAdjust=-1000.
    command = (f"{MNT}{LOADER} --library-path {MNT}/lib {MNT}/memhotplugd" if from_ext4
               else "memhotplugd")
    with daemon_vm(ctx, binaries=[(hog_bin, "/usr/bin/mem-hog")],
                   files=[(image, IMAGE)]) as vm:
        ctx.booted(vm)
        if from_ext4:
            vm.sh(f"modprobe loop && modprobe ext4 && mkdir -p {MNT} && "
                  f"mount -t ext4 -o ro,loop {IMAGE} {MNT}")
        start_daemon(ctx, vm, conf, command=f"ulimit -l unlimited; exec {command}")
        pid = vm.sh("cat /tmp/memhotplugd.pid").strip()
        vm.sh(f"echo -1000 > /proc/{pid}/oom_score_adj")
        maps = vm.sh(f"grep -c ' {MNT}/' /proc/{pid}/maps || true").strip()
        if from_ext4:
            ctx.check(int(maps or 0) > 0, f"{what}: the daemon's code is mapped from {MNT} ({maps} "
                                          "mappings)", fatal=True)
        idle = proc_status(vm, pid)
        avail = vm.meminfo("MemAvailable") >> 20
        ok = hog(vm, avail - LEFT_MIB, "boot")
        ctx.check(ok, f"{what}: a process holds {avail - LEFT_MIB} MiB, "
                      f"{vm.meminfo('MemAvailable') >> 20} MiB left", fatal=True)
        held = proc_status(vm, pid)
        pushed, push_mib, push_avail, push_kills = evict(ctx, vm, what, pid, idle["RssFile"] // 2,
                                                         past_available=from_ext4)
        ctx.note(f"{what}: the push held {push_mib} MiB of {push_avail} MiB available"
                 + (f"; OOM kills meanwhile: {push_kills}" if push_kills else ""))
        if from_ext4 and not lock:
            ctx.check(pushed["RssFile"] < idle["RssFile"] // 2,
                      f"{what}: the daemon's file pages were evicted (RssFile {idle['RssFile']} -> "
                      f"{pushed['RssFile']} KiB)")
        if lock:
            ctx.check(idle["VmLck"] > 0 and pushed["RssFile"] >= idle["RssFile"],
                      f"{what}: locked ({idle['VmLck']} KiB) and kept (RssFile {idle['RssFile']} -> "
                      f"{pushed['RssFile']} KiB)")
        left = vm.meminfo("MemAvailable") >> 20

        seconds = hotadd_2g(ctx, vm, what, lambda: daemon_log(vm))
        if seconds is None:
            return None
        after = proc_status(vm, pid)
        majflt = after["majflt"] - pushed["majflt"]
        ctx.check(True, f"{what}: 2 GiB online under pressure ({left} MiB available), "
                        f"{seconds:.2f}s after device_add")
        if lock:
            ctx.check(majflt == 0, f"{what}: no major fault while onlining (got {majflt})")
        second_process_fits(ctx, vm, what)
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"{what}: memhotplugd exits 0 (got {rc})", diag=daemon_log(vm))
        locked_log = re.search(r"Locked the daemon's memory.*", daemon_log(vm))
        ctx.note(f"{what}: KiB VmSize/VmRSS/RssFile/VmLck idle {idle['VmSize']}/{idle['VmRSS']}/"
                 f"{idle['RssFile']}/{idle['VmLck']}, under 64 MiB left RssFile {held['RssFile']}, "
                 f"after the push {pushed['RssFile']}, after the hot-add {after['RssFile']} "
                 f"(VmRSS {after['VmRSS']}, VmLck {after['VmLck']}); majflt during the hot-add "
                 f"{majflt}; {seconds:.2f}s"
                 + (f"; log: {locked_log.group(0)}" if locked_log else ""))
        return {"seconds": seconds, "majflt": majflt, "idle": idle, "pushed": pushed, "after": after}


def pressure_evictable(ctx):
    """(a) the daemon from ramfs (unevictable), (b) from ext4 (evictable), (c) from ext4 with
    LockMemory=yes, and with MHP_PRESSURE_BASELINE=DAEMON (d) that binary as (c): fresh guests,
    interleaved, SAMPLES each; 64 MiB left, 2 GiB hot-added."""
    if not shutil.which("mke2fs"):
        ctx.check(False, "mke2fs (e2fsprogs) is installed", fatal=True)
    tmpdir, hog_bin = build_hog()
    imgdir, image = build_image(ctx.args.daemon)
    base_imgdir, base_image = build_image(BASELINE) if BASELINE else (None, None)
    results = {label: [] for label, _, _ in VARIANTS}
    only = os.environ.get("MHP_PRESSURE_VARIANTS", "").split(",")  # for a quicker look at one
    try:
        for i in range(SAMPLES):
            # The order reversed every other round, so that drift falls on every variant alike.
            for label, from_ext4, lock in (VARIANTS if i % 2 == 0 else VARIANTS[::-1]):
                if only != [""] and label not in only:
                    continue
                img = base_image if label == "base+lock" else image
                try:
                    r = run_evictable(ctx, img, hog_bin, f"{label} #{i + 1}", from_ext4, lock)
                except PushCollateral as e:
                    ctx.note(f"{label} #{i + 1}: the push's OOM kill took another process too ({e}): "
                             "the host's load, not the daemon; the round runs again in a fresh guest")
                    try:
                        r = run_evictable(ctx, img, hog_bin, f"{label} #{i + 1} (again)", from_ext4, lock)
                    except PushCollateral as e:
                        ctx.check(False, f"{label} #{i + 1}: the push's OOM kill took only the push", diag=str(e))
                        r = None
                if r:
                    results[label].append(r)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        shutil.rmtree(imgdir, ignore_errors=True)
        if base_imgdir:
            shutil.rmtree(base_imgdir, ignore_errors=True)
    for label, rs in results.items():
        if not rs:
            continue
        secs = sorted(r["seconds"] for r in rs)
        faults = [r["majflt"] for r in rs]
        ctx.note(f"{label}: device_add to all online {', '.join(f'{s:.2f}' for s in secs)}s "
                 f"(median {secs[len(secs) // 2]:.2f}s); majflt during the hot-add {faults}; "
                 f"RssFile idle -> after the push -> after the hot-add (KiB) "
                 + ", ".join(f"{r['idle']['RssFile']}->{r['pushed']['RssFile']}->"
                             f"{r['after']['RssFile']}" for r in rs)
                 + "; VmRSS idle -> after the hot-add (KiB) "
                 + ", ".join(f"{r['idle']['VmRSS']}->{r['after']['VmRSS']}" for r in rs))


SCENARIOS["pressure-evictable"] = pressure_evictable

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugd in a real kernel: boot, coldplug, hot-add through QMP, show what happened.

Run through scripts/demo, which installs what is needed and builds first. Boots Debian's 6.12
kernel in QEMU (TCG) with a DIMM that stays offline at boot, starts memhotplugd with its
default policy (Online=platform: auto-movable in a VM) and a system bus, then hot-adds a second DIMM while it runs.
The daemon's log goes to the guest's serial console, which is shown here as it arrives.
QEMU is always shut down, whatever happens.
"""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from vm import GiB, MiB, VM, Dimm, VMError, parse_size  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
CONF = "/etc/memhotplugd/memhotplugd.conf"
DEMO_CONF = """# The demo's policy: the shipped defaults, written out.
[Daemon]
UeventSource=kernel
KernelAutoOnline=takeover
ChunkBlocks=64

[Memory]
Online=platform
"""

TTY = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def bold(s):
    return f"\033[1m{s}\033[0m" if TTY else s


def dim(s):
    return f"\033[2m{s}\033[0m" if TTY else s


class Demo:
    def __init__(self, vm):
        self.vm = vm
        self.t0 = time.monotonic()
        self.seen = 0

    def heading(self, text):
        print(f"\n{bold('== ' + text + ' ')}{bold('=' * max(3, 74 - len(text)))}"
              f"  {dim(f'[{time.monotonic() - self.t0:5.1f}s]')}", flush=True)

    def say(self, text):
        print(text, flush=True)

    def guest(self, cmd, title=None):
        """Run cmd in the guest and show it like a shell session."""
        out = self.vm.sh(cmd, timeout=60)
        print(f"{dim('guest#')} {title or cmd}")
        for line in out.rstrip("\n").splitlines():
            print(f"    {line}")
        return out

    def console(self, what="memhotplugd"):
        """Print the console lines (the daemon's log) that arrived since the last call."""
        with self.vm.console_lock:
            new = self.vm.console[self.seen:]
            self.seen = len(self.vm.console)
        lines = [line for _, line in new if line.strip()]
        if lines:
            print(dim(f"--- {what} (guest console) ---"))
            for line in lines:
                print(f"  {dim('|')} {line}")
        return lines

    def skip_console(self):
        with self.vm.console_lock:
            self.seen = len(self.vm.console)

    def summary(self):
        blocks = self.vm.blocks()
        online = sum(1 for b in blocks.values() if b["state"] == "online")
        offline = sum(1 for b in blocks.values() if b["state"] == "offline")
        movable = sum(1 for b in blocks.values() if b["zones"] == ["Movable"]
                      and b["state"] == "online")
        bs = self.vm.block_size() >> 20
        self.say(f"memory blocks ({bs} MiB each): {online} online ({movable} in ZONE_MOVABLE), "
                 f"{offline} offline")
        return blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="Normally run through scripts/demo.")
    ap.add_argument("--daemon", default=os.path.join(REPO, "build/daemon/memhotplugd"))
    ap.add_argument("--ctl", default=os.path.join(REPO, "build/ctl/memhotplugctl"))
    ap.add_argument("--coldplug", default="1G", help="DIMM present at boot, offline (default 1G)")
    ap.add_argument("--hotplug", default="2G", help="DIMM hot-added at runtime (default 2G)")
    ap.add_argument("--log-dir", help="keep the guest console log here")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo the whole console")
    args = ap.parse_args()
    for b in (args.daemon, args.ctl):
        if not os.access(b, os.X_OK):
            ap.error(f"{b} not built (ninja -C build)")

    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    hot = parse_size(args.hotplug)
    vm = VM(memory="1G", slots=4, maxmem=f"{(GiB + parse_size(args.coldplug) + hot) // GiB + 1}G",
            dimms=[Dimm(args.coldplug)], name="demo", log_dir=args.log_dir,
            verbose=args.verbose, timeout=600,
            binaries=[(args.daemon, "/usr/sbin/memhotplugd"),
                      (args.ctl, "/usr/bin/memhotplugctl")],
            files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")])

    print(bold("memhotplugd demo: a real Linux kernel in QEMU, memory hot-added while the "
               "daemon runs"))
    d = Demo(vm)
    d.heading("Booting the VM")
    d.say(f"QEMU/TCG, 2 vCPUs, 1 GiB base memory + a {args.coldplug} DIMM plugged at boot; the "
          "kernel runs with memhp_default_state=offline, so the DIMM's memory is not used yet.")
    with vm:
        kver = vm.sh("uname -r").strip()
        d.say(f"booted Linux {kver} in {vm.boot_seconds:.1f}s")
        d.skip_console()

        d.heading("Before memhotplugd")
        d.guest("free -m")
        d.guest("grep MemTotal /proc/meminfo")
        d.guest("cat /sys/devices/system/memory/auto_online_blocks")
        before = d.summary()

        d.heading("Starting memhotplugd (log to the console) and a system bus")
        vm.start_dbus()
        vm.write_file(CONF, DEMO_CONF)
        d.guest(f"cat {CONF}")
        d.say(dim(f"guest# memhotplugd --config {CONF} --log-target stderr >/dev/console &"))
        vm.sh("rm -f /tmp/memhotplugd.rc; "
              "setsid sh -c 'memhotplugd --config " + CONF + " --log-target stderr "
              "--runtime-dir /run/memhotplugd & echo $! > /tmp/memhotplugd.pid; wait $!; "
              "echo $? > /tmp/memhotplugd.rc' </dev/null >/dev/console 2>&1 &")
        coldplugged = {n for n, b in before.items() if b["state"] == "offline"}
        try:
            vm.wait_until(lambda: all(vm.blocks()[n]["state"] == "online" for n in coldplugged)
                          and vm.run("memhotplugctl status", check=False)[0] == 0,
                          timeout=60, interval=0.3, what="the start scan")
        except VMError:
            d.console()
            raise
        time.sleep(0.3)
        d.console()

        d.heading("After the start scan: the DIMM present at boot is online")
        d.guest("free -m")
        d.summary()
        d.guest("memhotplugctl status")

        d.heading(f"Hot-adding a {args.hotplug} DIMM through QMP (object-add + device_add)")
        d.say(dim("host-> QMP object-add memory-backend-ram, device_add pc-dimm"))
        before = vm.blocks()
        t = time.monotonic()
        vm.hotplug_dimm(args.hotplug)
        want = hot // vm.block_size()

        def all_online():
            now = vm.blocks()
            new = {n: b for n, b in now.items() if n not in before}
            return len(new) == want and all(b["state"] == "online" for b in new.values()) \
                and new
        try:
            new = vm.wait_until(all_online, timeout=120, interval=0.2,
                                what=f"{want} hot-added blocks online")
        except VMError:
            d.console()
            raise
        secs = time.monotonic() - t
        time.sleep(0.3)
        d.console()
        zones = sorted({z for b in new.values() for z in b["zones"]})
        d.say(bold(f"{want} new blocks (memory{min(new)}-memory{max(new)}) online in "
                   f"{'/'.join(zones)} {secs:.1f}s after device_add (host clock, TCG)"))

        d.heading("After the hot-add")
        d.guest("free -m")
        d.guest("grep MemTotal /proc/meminfo")
        d.summary()
        d.guest("memhotplugctl status")
        d.guest("memhotplugctl list")

        d.heading("Stopping memhotplugd and the VM")
        vm.sh("kill -TERM $(cat /tmp/memhotplugd.pid); "
              "while [ ! -s /tmp/memhotplugd.rc ]; do sleep 0.1; done", timeout=30)
        time.sleep(0.3)
        d.console()
        rc = vm.sh("cat /tmp/memhotplugd.rc").strip()
        d.guest("cat /sys/devices/system/memory/auto_online_blocks",
                f"cat /sys/devices/system/memory/auto_online_blocks   "
                f"{dim('# restored by the daemon on exit (it exited ' + rc + ')')}")
    print(f"\n{bold('Done')} in {time.monotonic() - d.t0:.0f}s; QEMU has exited.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except VMError as e:
        print(f"\ndemo failed: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CPU cost per block of onlining N offline blocks, memhotplugd against two baselines measured in
the same run on the same temporary sysfs tree (never the machine's real /sys):

  D  memhotplugd --once --sysfs-root TREE: scan, decide, write every state file, log each block
  S  a shell loop writing each state file (the work of a udev ATTR{state}= rule, minus udevd)
  F  a fork+exec of a small program per block (what rules that RUN a program cost)

Also the daemon's peak RSS and its time from start to READY=1 and to the end of the job (through a
real sd_notify socket), with LockMemory=yes (the default) in effect as under the unit: the daemon
gets RLIMIT_MEMLOCK=infinity (LimitMEMLOCK=infinity, so MCL_FUTURE too) where this process may
raise it, and what it locked is read from its own log line. Figures are medians of --repeat runs;
ratios are what to compare.

With --baseline DAEMON a second binary (an earlier commit's) is measured in the same run, on the
same tree, interleaved run by run, and the ratios new/baseline are printed side by side.
"""
import re
import resource
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ONLINE = "online_movable"


def make_tree(root, n, nodes):
    mem = os.path.join(root, "devices/system/memory")
    os.makedirs(mem)
    with open(os.path.join(mem, "block_size_bytes"), "w") as f:
        f.write("8000000\n")
    with open(os.path.join(mem, "auto_online_blocks"), "w") as f:
        f.write("offline\n")
    for i in range(n):
        d = os.path.join(mem, f"memory{i}")
        os.mkdir(d)
        for name, value in (("phys_index", f"{i:08x}"), ("valid_zones", "Normal Movable"), ("removable", "1")):
            with open(os.path.join(d, name), "w") as f:
                f.write(value + "\n")
        # Blocks in node order, as firmware lays them out; linked both ways, as the kernel does.
        node = i * nodes // n
        os.mkdir(os.path.join(d, f"node{node}"))
        node_dir = os.path.join(root, f"devices/system/node/node{node}")
        os.makedirs(node_dir, exist_ok=True)
        os.symlink(f"../../memory/memory{i}", os.path.join(node_dir, f"memory{i}"))
    reset_tree(root, n)
    return mem


def reset_tree(root, n):
    mem = os.path.join(root, "devices/system/memory")
    for i in range(n):
        with open(os.path.join(mem, f"memory{i}", "state"), "w") as f:
            f.write("offline\n")


def check_tree(root, n):
    mem = os.path.join(root, "devices/system/memory")
    bad = 0
    for i in range(n):
        with open(os.path.join(mem, f"memory{i}", "state")) as f:
            bad += f.read().strip() != ONLINE
    if bad:
        sys.exit(f"bench: {bad} of {n} blocks were not written {ONLINE}")


def run_measured(argv):
    """Runs argv to completion; returns (cpu seconds of it and its children, wall s)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.monotonic()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    os.close(devnull)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"bench: {argv[0]} exited {code}")
    return ru.ru_utime + ru.ru_stime, wall


def daemon_argv(daemon, tree, rundir, conf, once):
    # --no-bus: never join the host's system bus from a benchmark.
    argv = [daemon, "--config", conf, "--sysfs-root", tree, "--runtime-dir", rundir, "--log-target", "stderr", "--no-bus"]
    return argv + (["--once"] if once else [])


def memlock_unlimited():
    """As the unit's LimitMEMLOCK=infinity; False where this process may not raise the hard limit
    (no CAP_SYS_RESOURCE): the daemon then locks only what is mapped at start (no MCL_FUTURE)."""
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return True
    except (ValueError, OSError):
        return False


def time_to_ready(daemon, tree, rundir, conf, n):
    """Start to READY=1 and start to the idle status after the job, via a real notify socket;
    the peak RSS, and the daemon's "Locked the daemon's memory" log line (None if it locked nothing)."""
    sock_path = os.path.join(rundir, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    log = tempfile.TemporaryFile(mode="w+")
    t0 = time.monotonic()
    p = subprocess.Popen(daemon_argv(daemon, tree, rundir, conf, False), env=env,
                         stdout=subprocess.DEVNULL, stderr=log)
    ready = idle = None
    try:
        # READY=1 comes once the start's job is over and its capacity event written, so the idle
        # status of that job may come first: the job is done when both came.
        while ready is None or idle is None:
            msg = s.recv(4096).decode()
            now = time.monotonic() - t0
            if "READY=1" in msg and ready is None:
                ready = now
            if "STATUS=Idle" in msg and idle is None:
                idle = now
        done = max(ready, idle)
        # The peak RSS of the daemon's own address space (ru_maxrss of a child spawned from Python
        # would include Python's pages from before the exec).
        with open(f"/proc/{p.pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    finally:
        p.terminate()
        p.wait(10)
        s.close()
        os.unlink(sock_path)
    log.seek(0)
    m = re.search(r"Locked the daemon's memory.*", log.read())
    log.close()
    return ready, done, hwm, m.group(0) if m else None


def measure(daemon, tree, rundir, conf, n, into):
    """One run of D, D' and the start-to-idle run of one binary, appended to into."""
    for key, argv in (("D", daemon_argv(daemon, tree, rundir, conf, True)),
                      ("D-quiet", daemon_argv(daemon, tree, rundir, conf, True) + ["-l", "warning"])):
        reset_tree(tree, n)
        cpu, _ = run_measured(argv)
        check_tree(tree, n)
        into[key].append(cpu)
    reset_tree(tree, n)
    r, d, hwm, locked = time_to_ready(daemon, tree, rundir, conf, n)
    check_tree(tree, n)
    into["ready"].append(r)
    into["done"].append(d)
    into["rss"].append(hwm)
    into["locked"] = locked


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("daemon", help="path to the memhotplugd binary")
    ap.add_argument("--blocks", type=int, default=8192)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--baseline", metavar="DAEMON",
                    help="another memhotplugd binary, measured in the same run, interleaved")
    args = ap.parse_args()
    n = args.blocks
    # Inherited by every daemon started from here on.
    unlimited = memlock_unlimited()

    # tmpfs, like sysfs a memory file system: a disk file system would make every write a journal
    # transaction and measure the disk instead of the daemon.
    top = tempfile.mkdtemp(prefix="memhotplugd-bench.", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        tree = os.path.join(top, "sys")
        rundir = os.path.join(top, "run")
        os.mkdir(rundir)
        make_tree(tree, n, args.nodes)
        conf = os.path.join(top, "bench.conf")
        with open(conf, "w") as f:
            f.write(f"[Daemon]\nChunkBlocks={args.chunk}\nKernelAutoOnline=respect\n[Memory]\nOnline=movable\n")
        states = os.path.join(tree, "devices/system/memory/memory*/state")
        shell_loop = f'for f in {states}; do echo {ONLINE} > "$f"; done'
        fork_loop = f"for f in {states}; do /bin/sh -c 'echo {ONLINE} > \"$1\"' sh \"$f\"; done"

        # Metrics on, into a directory of the bench's own (the default, node_exporter's directory, may
        # exist on this machine): for a binary that has MetricsFile= (its --check-config takes it).
        # Every binary gets a config that says where, or has no metrics at all.
        textfiles = os.path.join(top, "node-exporter")
        os.mkdir(textfiles)
        metrics_file = os.path.join(textfiles, "memhotplugd.prom")
        conf_metrics = os.path.join(top, "bench-metrics.conf")
        with open(conf, "r") as f, open(conf_metrics, "w") as g:
            g.write(f.read().replace("[Daemon]\n", f"[Daemon]\nMetricsFile={metrics_file}\n", 1))

        def conf_for(daemon):
            p = subprocess.run([daemon, "--check-config", "-c", conf_metrics], capture_output=True)
            return conf_metrics if p.returncode == 0 else conf

        binaries = [("new", args.daemon)] + ([("base", args.baseline)] if args.baseline else [])
        confs = {label: conf_for(daemon) for label, daemon in binaries}
        runs = {label: {"D": [], "D-quiet": [], "ready": [], "done": [], "rss": [], "locked": None}
                for label, _ in binaries}
        results = {"S": [], "F": []}
        for i in range(args.repeat):
            # Interleaved, the order swapped every round, so that drift falls on both alike.
            for label, daemon in (binaries if i % 2 == 0 else binaries[::-1]):
                measure(daemon, tree, rundir, confs[label], n, runs[label])
                if confs[label] == conf_metrics:
                    if not os.path.exists(metrics_file):
                        sys.exit(f"bench: {daemon} wrote no metrics file")
                    os.unlink(metrics_file)
            for key, argv in (("S", ["/bin/bash", "-c", shell_loop]), ("F", ["/bin/bash", "-c", fork_loop])):
                reset_tree(tree, n)
                cpu, _ = run_measured(argv)
                check_tree(tree, n)
                results[key].append(cpu)

        per = {k: statistics.median(v) / n * 1e6 for k, v in results.items()}
        for label, _ in binaries:
            per[label] = {k: statistics.median(runs[label][k]) / n * 1e6 for k in ("D", "D-quiet")}
        med = {label: {k: statistics.median(runs[label][k]) for k in ("ready", "done", "rss")}
               for label, _ in binaries}
        new = per["new"]
        print(f"memhotplugd benchmark: {n} offline blocks on {args.nodes} nodes, ChunkBlocks={args.chunk}, "
              f"median of {args.repeat} runs, CPU time (user+sys) per block")
        for label, daemon in binaries:
            print(f"  [{label}] {daemon} (metrics {'on' if confs[label] == conf_metrics else 'not in this binary'})")
            print(f"  D  memhotplugd (info logging to stderr) {per[label]['D']:9.2f} us/block")
            print(f"  D' memhotplugd (warnings only)         {per[label]['D-quiet']:9.2f} us/block")
        print(f"  S  shell loop writing state            {per['S']:9.2f} us/block")
        print(f"  F  fork+exec per block                 {per['F']:9.2f} us/block")
        print(f"  ratio F/D  {per['F'] / new['D']:7.1f}x   (target >= 50x)")
        print(f"  ratio S/D  {per['S'] / new['D']:7.1f}x")
        print(f"  LockMemory=yes, RLIMIT_MEMLOCK {'infinity (as the unit)' if unlimited else 'finite (cannot raise it here: no MCL_FUTURE)'}")
        for label, _ in binaries:
            print(f"  [{label}] peak RSS of memhotplugd: {med[label]['rss'] / 1024:.2f} MiB (target <= 4 MiB); "
                  f"start to READY=1: {med[label]['ready'] * 1e3:.1f} ms; start to all {n} blocks online: "
                  f"{med[label]['done'] * 1e3:.1f} ms")
            print(f"  [{label}] {runs[label]['locked'] or 'locked nothing'}")
        if args.baseline:
            base = per["base"]
            print("  new/base (side by side, < 1 is better): "
                  f"D {new['D'] / base['D']:.2f}, D' {new['D-quiet'] / base['D-quiet']:.2f}, "
                  f"peak RSS {med['new']['rss'] / med['base']['rss']:.2f}, "
                  f"READY=1 {med['new']['ready'] / med['base']['ready']:.2f}, "
                  f"all online {med['new']['done'] / med['base']['done']:.2f}")
        ok = new["D"] <= 20 and per["F"] / new["D"] >= 50 and med["new"]["rss"] <= 4096
        print(f"  targets {'met' if ok else 'MISSED'}")
        return 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

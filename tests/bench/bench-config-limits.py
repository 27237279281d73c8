#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The config loader at each of its limits and one past it: memhotplugd --check-config --config
FILE (which only parses and prints the policy: it reads no sysfs) on generated files, with its exit
status, the first line of its error, the median wall time of --repeat runs and the peak RSS.

  lines     a 199-character line (the longest libinih holds whole) and a 200-character one
  size      a file just under 1 MiB and one just over (INI_FILE_SIZE_MAX)
  drop-ins  1024 drop-ins (INI_CONF_FILES_MAX) and 1025
  rules     4096 [Dax NAME] rules (CONFIG_DAX_RULES_MAX) and 4097

With --instructions, also the instructions the daemon ran (valgrind's callgrind: the same
count for the same binary and input, however busy the machine is; wall times on a shared machine
are not).

Usage: bench-config-limits.py BUILD/daemon/memhotplugd [--repeat N] [--instructions]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def rules(n):
    return "".join("[Dax r%d]\nMatchNode=%d\nMode=ignore\n" % (i, i % 1024) for i in range(n))


def long_line(length):
    key = "ChunkBlocks="
    return "[Daemon]\n" + key + "0" * (length - len(key) - 1) + "8\n"


def comments(size):
    line = "#" + "x" * 98 + "\n"
    return line * (size // len(line))


def make_cases(d):
    cases = [
        ("199-character line", write(d + "/line199.conf", long_line(199)), 0),
        ("200-character line", write(d + "/line200.conf", long_line(200)), 78),
        ("1048500-byte file", write(d + "/size-under.conf", comments(1048576 - 76)), 0),
        ("1048600-byte file", write(d + "/size-over.conf", comments(1048576 + 100)), 78),
        ("4096 [Dax NAME] rules", write(d + "/rules4096.conf", rules(4096)), 0),
        ("4097 [Dax NAME] rules", write(d + "/rules4097.conf", rules(4097)), 78),
    ]
    for n in (1024, 1025):
        main = write(d + "/dropins%d.conf" % n, "[Daemon]\nChunkBlocks=4\n")
        for i in range(n):
            write("%s.d/%04d.conf" % (main, i), "[Daemon]\nChunkBlocks=%d\n" % (i % 100 + 1))
        cases.append(("%d drop-ins" % n, main, 0 if n == 1024 else 78))
    return cases


GNU_TIME = "/usr/bin/time"  # Debian's "time": %M is the peak RSS of the command itself


def run_once(daemon, path):
    """Exit status, first error line, wall time and peak RSS (KiB, None without GNU time) of one
    run. The peak RSS of a child as wait4() reports it would include the Python process it was
    forked from, so GNU time measures the daemon alone."""
    argv = [daemon, "--check-config", "--config", path]
    timed = os.access(GNU_TIME, os.X_OK)
    if timed:
        argv = [GNU_TIME, "-f", "@@maxrss %M"] + argv
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - t0
    lines = p.stderr.strip().splitlines()
    rss = int(lines.pop().split()[1]) if timed and lines and lines[-1].startswith("@@maxrss") else None
    return p.returncode, lines[:1], elapsed, rss


def instructions(daemon, path):
    """Instructions executed by one run, counted by callgrind (None without valgrind)."""
    if not shutil.which("valgrind"):
        return None
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", daemon,
                        "--check-config", "--config", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    for line in p.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("daemon")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--instructions", action="store_true", help="count instructions with callgrind")
    args = ap.parse_args()

    d = tempfile.mkdtemp(prefix="memhotplugd-limits.")
    failed = 0
    try:
        print("%-24s %4s %10s %9s %13s  %s" % ("input", "exit", "median ms", "peak KiB", "instructions",
                                               "error"))
        for name, path, want in make_cases(d):
            times, rc, err, rss = [], None, [], []
            for _ in range(args.repeat):
                rc, err, elapsed, maxrss = run_once(args.daemon, path)
                times.append(elapsed)
                rss.append(maxrss)
            count = instructions(args.daemon, path) if args.instructions else None
            print("%-24s %4d %10.1f %9s %13s  %s" % (name, rc, statistics.median(times) * 1000,
                                                      max(rss) if None not in rss else "n/a",
                                                      "{:,}".format(count) if count else "-",
                                                      (err[0][:100] if err else "")))
            if rc != want:
                print("  unexpected exit status %d, want %d" % (rc, want))
                failed += 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

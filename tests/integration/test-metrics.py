#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's metrics for Prometheus against the real consumers: Debian's prometheus-node-exporter
(started on 127.0.0.1, a free port, its textfile collector reading a temporary directory the daemon
writes MetricsFile= into) scraped over HTTP after a hot-add under the harness, and Debian's
`promtool check metrics` on both the file and `memhotplugctl metrics`.

Usage: test-metrics.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]
Output is TAP. Needs Debian's /usr/bin/python3 (for gi), gir1.2-umockdev-1.0,
prometheus-node-exporter and prometheus (promtool).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, BusSetup, Client, PrivateBus, ctl  # noqa: E402
from harness import BASE_DAEMON, Bed, Block, check, scenario, tail, wait_until  # noqa: E402

busclient.init(__doc__)

EXPORTER = "prometheus-node-exporter"
PROMTOOL = "promtool"
M = 1 << 20
BLOCK = 256 * M  # the harness's block size
FILE = "memhotplugd.prom"
IN_MOVED_TO = 0x00000080
PAGE = 4096


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """node_exporter with only its textfile collector, on 127.0.0.1."""

    def __init__(self, directory):
        self.port = free_port()
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([shutil.which(EXPORTER), "--web.listen-address=127.0.0.1:%d" % self.port,
                                      "--collector.disable-defaults", "--collector.textfile",
                                      "--collector.textfile.directory=" + directory],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        wait_until(lambda: self.scrape() is not None, what="node_exporter answering on port %d" % self.port)

    def scrape(self):
        """The samples of one scrape: {name{labels}: value} as text; None if it does not answer."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as r:
                text = r.read().decode()
        except OSError:
            if self.proc.poll() is not None:
                self.log.seek(0)
                check(False, "node_exporter exited: %s" % self.log.read())
            return None
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                samples[key] = float(value)
        return samples

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def promtool(text):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


class Watch:
    """Counts the renames onto the metrics file (each atomic write is one)."""

    def __init__(self, directory):
        self.ino = harness.Inotify()
        self.ino.add_watch(directory, IN_MOVED_TO)
        self.count = 0

    def take(self):
        self.count += sum(1 for _, _, name in self.ino.read() if name == FILE)
        return self.count

    def close(self):
        self.ino.close()


def hot_add(bed, blocks):
    """One hot-add as the kernel makes it: every block announced, then all linked to their node."""
    for b in blocks:
        bed.add_block(b, link_node=False)
    for b in blocks:
        bed.link_node(b)


CHECKS = ["metrics: the daemon keeps MetricsFile= (0644, in the exporter's directory); node_exporter's textfile "
          "collector reads it without error; the start's job is no hot-add, its failed online counts under io",
          "metrics: after a hot-add of 8 blocks, the scrape shows it (a hot-add per job) of 2G, its time in the histogram, blocks "
          "and memory by node, zone and state, the mode and the auto-movable figures",
          "metrics: the file is replaced once per job of the hot-add (and at most once after), not per block",
          "metrics: an unplug of 2 blocks is 512M unplugged, in at most 2 unplugs; the failure stays counted once",
          "metrics: promtool check metrics passes on the file and on memhotplugctl metrics (as user nobody), which "
          "print the same families",
          "metrics: MetricsFile= whose directory does not exist writes nothing and says so once"]


@scenario(CHECKS)
def test_node_exporter(case):
    # Node 0: 1G of boot memory online in the kernel zone, and 3 blocks offline at boot (the start's
    # job, no hot-add), one of which the kernel will not online (EIO).
    boot = [Block(i, 0, state="online", zones=("none",) if i == 0 else ("Normal",)) for i in range(4)]
    boot += [Block(4, 0), Block(5, 0), Block(14, 0)]
    s = BusSetup()
    exporter = watch = None
    try:
        s.bus = PrivateBus()
        s.bed = bed = Bed(boot)
        bed.bus_address = s.bus.address
        textfiles = os.path.join(bed.tmp, "node-exporter")
        os.mkdir(textfiles)
        bed.metrics_file = os.path.join(textfiles, FILE)
        for i in list(range(4, 14)) + [15]:
            bed.emu.expect(i, "online_movable")
        bed.set_fault(14, "EIO")
        bed.write_config(BASE_DAEMON + "MaxAttempts=1\n\n[Memory]\nOnline=movable\n")
        s.client = Client(s.bus.address)
        exporter = Exporter(textfiles)
        watch = Watch(textfiles)
        s.daemon = d = bed.daemon()
        case.daemon = d
        d.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        bed.emu.wait_online([4, 5])
        wait_until(lambda: os.path.exists(bed.metrics_file), what="the metrics file")
        out = {}

        def file_read():
            st = os.stat(bed.metrics_file)
            check(st.st_mode & 0o777 == 0o644, "mode %o" % (st.st_mode & 0o777))
            samples = exporter.scrape()
            check(samples.get("node_textfile_scrape_error") == 0.0, "scrape error: %r" % samples)
            check(samples.get('memhotplugd_blocks{node="0",state="online",zone="Movable"}') == 2.0,
                  "boot blocks: %r" % {k: v for k, v in samples.items() if k.startswith("memhotplugd_blocks")})
            check(samples.get("memhotplugd_hotadds_total") == 0.0, "no hot-add yet: %r" % samples)
            check(samples.get('memhotplugd_online_failures_total{reason="io"}') == 1.0, "EIO: %r" % samples)

        def hot_added():
            watch.take()
            before = watch.count
            mark = d.mark()
            burst = [Block(i, 0) for i in range(6, 14)]
            hot_add(bed, burst)
            bed.emu.wait_online([b.index for b in burst])
            bed.emu.settle()
            # One hot-add is one job: the add uevents from the first after a job to the end of the job
            # that onlines them. The harness sends them one by one, slower than a kernel, so a loaded
            # machine may make two jobs of them; each is counted as the hot-add it was.
            wait_until(lambda: sum(int(n) for n in re.findall(r"Finished: (\d+) of \1 blocks done", d.log(mark)))
                       == 8, what="the jobs of the 8 blocks")
            jobs = len(re.findall(r"Finished: ", d.log(mark)))
            out["jobs"] = jobs
            wait_until(lambda: (exporter.scrape() or {}).get("memhotplugd_hotadded_bytes_total") == 8 * BLOCK,
                       what="the scrape showing the hot-add")
            samples = exporter.scrape()
            # A second job is a hot-add of its own when its add uevents came after the first job ended,
            # and the rest of the same hot-add when they came before (its blocks waited for their links).
            hotadds = samples.get("memhotplugd_hotadds_total")
            check(hotadds in [float(n) for n in range(1, jobs + 1)], "hot-adds %r for %d job(s)" % (hotadds, jobs))
            out["hotadds"] = hotadds
            case.note("\n".join("%s %s" % kv for kv in sorted(samples.items()) if kv[0].startswith("memhotplugd")))
            case.note("%d job(s) for the hot-add" % jobs)
            want = {
                "memhotplugd_hotadded_bytes_total": 8 * BLOCK,
                "memhotplugd_hotadd_duration_seconds_count": hotadds,
                'memhotplugd_hotadd_duration_seconds_bucket{le="+Inf"}': hotadds,
                'memhotplugd_blocks{node="0",state="online",zone="Movable"}': 10,
                'memhotplugd_blocks{node="0",state="online",zone="Normal"}': 3,
                'memhotplugd_memory_bytes{node="0",state="online",zone="Movable"}': 10 * BLOCK,
                "memhotplugd_block_size_bytes": BLOCK,
                "memhotplugd_onlined_blocks_total": 10,
                'memhotplugd_online_failures_total{reason="io"}': 1,
                "memhotplugd_unplugs_total": 0,
                "memhotplugd_job_blocks": 0,
                "memhotplugd_drifted_blocks": 0,
                # Boot memory: blocks 0-3 (block 0 spans DMA and DMA32, its zone shows none).
                'memhotplugd_blocks{node="0",state="online",zone="none"}': 1,
                'memhotplugd_blocks{node="0",state="offline",zone="none"}': 1,
                'memhotplugd_node_kernel_boot_bytes{node="0"}': 4 * BLOCK,
                'memhotplugd_node_auto_movable_counted_movable_bytes{node="0"}': 10 * BLOCK,
                'memhotplugd_node_auto_movable_counted_kernel_bytes{node="0"}': 4 * BLOCK,
                'memhotplugd_node_auto_movable_ratio{node="0"}': 3.01,
                "memhotplugd_system_auto_movable_limit_bytes": 301 * (4 * BLOCK // PAGE) // 100 * PAGE,
                # The harness's /proc/iomem, opened as root: no address hidden.
                "memhotplugd_iomem_addresses": 1,
                "node_textfile_scrape_error": 0,
            }
            got = {k: samples.get(k) for k in want}
            check(got == {k: float(v) for k, v in want.items()}, "scrape: %r, want %r" % (got, want))
            check(any(re.fullmatch(r'memhotplugd_info\{.*kernel_auto_online="respect".*online="movable".*\}', k)
                      and v == 1.0 for k, v in samples.items()), "memhotplugd_info: %r" % samples)
            # The time from the first add uevent to the last block online: in a bucket, and the sum is it.
            total = samples["memhotplugd_hotadd_duration_seconds_sum"]
            check(0 < total < harness.TIMEOUT, "hot-add time %r" % total)
            out["writes"] = watch.take() - before

        def once_per_job():
            # The job's end writes it; an online uevent that only confirms a block's state changes
            # nothing. Never one write per block.
            check(1 <= out["writes"] <= out["jobs"] + 1, "the file was replaced %d times for a hot-add of 8 blocks "
                  "in %d job(s)\n%s" % (out["writes"], out["jobs"], tail(d)))

        def failure_and_unplug():
            for i in (12, 13):
                harness_remove(bed, i)
            wait_until(lambda: (exporter.scrape() or {}).get("memhotplugd_unplugged_bytes_total") == 2 * BLOCK,
                       what="the scrape showing the unplug")
            samples = exporter.scrape()
            # Removals the daemon handled before it was idle again are one unplug: the harness removes
            # block by block, slower than a kernel, so there may be two here; never more than blocks.
            unplugs = samples.get("memhotplugd_unplugs_total")
            check(unplugs in (1.0, 2.0), "unplugs %r" % unplugs)
            want = {'memhotplugd_online_failures_total{reason="io"}': 1,
                    'memhotplugd_online_failures_total{reason="busy"}': 0,
                    "memhotplugd_unplugged_bytes_total": 2 * BLOCK,
                    "memhotplugd_hotadds_total": out["hotadds"],
                    'memhotplugd_blocks{node="0",state="online",zone="Movable"}': 8,
                    'memhotplugd_blocks{node="0",state="offline",zone="none"}': 1}
            got = {k: samples.get(k) for k in want}
            check(got == {k: float(v) for k, v in want.items()}, "scrape: %r, want %r" % (got, want))

        def promtool_passes():
            with open(bed.metrics_file) as f:
                text = f.read()
            rc, msg = promtool(text)
            check(rc == 0, "promtool on the file: %s\n%s" % (msg, text))
            check(busclient.CTL, "memhotplugctl is not built")
            p = ctl(s.bus.address, "metrics", user=busclient.UNPRIVILEGED)
            check(p.returncode == 0, p.stderr)
            rc, msg = promtool(p.stdout)
            check(rc == 0, "promtool on memhotplugctl metrics: %s\n%s" % (msg, p.stdout))
            families = lambda t: re.findall(r"^# TYPE (\S+)", t, re.M)  # noqa: E731
            check(families(p.stdout) == families(text), "families differ:\n%s\n%s" % (p.stdout, text))

        def missing_dir():
            bed.metrics_file = bed.tmp + "/absent/x.prom"
            d2 = bed.daemon("--no-bus")
            try:
                d2.wait_line(r"Not writing metrics to .*/absent/x\.prom: its directory does not exist")
                bed.add_block(Block(15, 0))
                d2.wait_line(r"memory15: Onlined")
                check(not os.path.exists(bed.tmp + "/absent"), "the directory was made")
                check(len(d2.find(r"Not writing metrics")) == 1, tail(d2))
            finally:
                d2.stop()

        case.run(CHECKS[0], file_read)
        case.run(CHECKS[1], hot_added)
        case.run(CHECKS[2], once_per_job)
        case.run(CHECKS[3], failure_and_unplug)
        case.run(CHECKS[4], promtool_passes)
        s.daemon.stop()
        s.daemon = None
        case.run(CHECKS[5], missing_dir)
    finally:
        if watch:
            watch.close()
        if exporter:
            exporter.stop()
        s.close()


def harness_remove(bed, index):
    """What the kernel does when a block goes: the "remove" uevent, then the directory is gone."""
    bed.uevent(index, "remove")
    with bed.lock:
        bed.testbed.remove_device(bed.syspath(index))
    shutil.rmtree(bed.block_dir(index), ignore_errors=True)
    bed.blocks.pop(index, None)


if __name__ == "__main__":
    sys.exit(harness.main([test_node_exporter], tools=(EXPORTER, PROMTOOL)))

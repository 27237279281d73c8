/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "headroom-facts.h"
#include "intake.h"
#include "kernel-auto.h"
#include "metrics.h"
#include "onliner.h"
#include "placement-facts.h"
#include "platform-facts.h"
#include "time-util.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

/* Why a write of state failed: a bounded set, so that a label never takes an unbounded value. */
typedef enum FailReason {
        FAIL_BUSY,       /* EBUSY: the kernel could not do it (an offline: pages it could not move) */
        FAIL_INVALID,    /* EINVAL: the kernel refused the value (a zone valid_zones does not offer) */
        FAIL_NO_MEMORY,  /* ENOMEM: no memory for the memmap, or for our own bookkeeping */
        FAIL_IO,         /* EIO */
        FAIL_PERMISSION, /* EPERM, EACCES, EROFS: not allowed to write */
        FAIL_OTHER,
        _FAIL_MAX,
} FailReason;

static const char *const fail_reason_names[_FAIL_MAX] = {
        [FAIL_BUSY] = "busy", [FAIL_INVALID] = "invalid",       [FAIL_NO_MEMORY] = "no_memory",
        [FAIL_IO] = "io",     [FAIL_PERMISSION] = "permission", [FAIL_OTHER] = "other",
};

static FailReason fail_reason(int error)
{
        switch (error) {
        case EBUSY:
                return FAIL_BUSY;
        case EINVAL:
                return FAIL_INVALID;
        case ENOMEM:
                return FAIL_NO_MEMORY;
        case EIO:
                return FAIL_IO;
        case EPERM:
        case EACCES:
        case EROFS:
                return FAIL_PERMISSION;
        default:
                return FAIL_OTHER;
        }
}

/* Upper bounds of the hot-add histogram: from a few milliseconds (a DIMM of one block onlined at
 * once) to minutes (hundreds of GiB under a ChunkPauseSec=, or a slow guest). In µs and as printed:
 * no floating point, whose formatting would page in a good part of libc's printf for this alone. */
static const struct {
        uint64_t usec;
        const char *le;
} hotadd_buckets[] = {
        { 5000, "0.005" },  { 10000, "0.01" },  { 25000, "0.025" }, { 50000, "0.05" },    { 100000, "0.1" },
        { 250000, "0.25" }, { 500000, "0.5" },  { 1000000, "1" },   { 2500000, "2.5" },   { 5000000, "5" },
        { 10000000, "10" }, { 30000000, "30" }, { 60000000, "60" }, { 300000000, "300" },
};
#define N_BUCKETS ELEMENTSOF(hotadd_buckets)

struct Metrics {
        Manager *manager;
        sd_event_source *write_source; /* the write after a change outside a job, when the loop is idle */
        char *path;                    /* NULL: no file */
        MetricsWrittenFn written;
        void *userdata;
        int last_write; /* what the last write came to, so that the manager hears of each change once */

        char *text; /* as of the last change, or NULL */

        /* The counters, since the start. */
        uint64_t hotadds, hotadded_bytes, unplugs, unplugged_bytes;
        uint64_t online_failures[_FAIL_MAX], offline_failures[_FAIL_MAX], offline_timeouts;
        uint64_t buckets[N_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
        uint64_t hotadd_count;
        uint64_t hotadd_usec_sum;

        /* The job under way: the latest burst it onlined blocks of, when the last of them went online
         * and how many; and blocks removed since the last settled point. */
        uint32_t job_burst, counted_burst;
        uint64_t job_last_online;
        uint64_t job_hotadded_blocks;
        uint64_t removed_pending;
};

static int on_write(sd_event_source *s, void *userdata);

int metrics_new(Manager *m, MetricsWrittenFn written, void *userdata, Metrics **ret)
{
        Metrics *x;
        int r;

        assert(m);
        assert(ret);

        x = calloc(1, sizeof(Metrics));
        if (!x)
                return -ENOMEM;
        x->manager = m;
        x->written = written;
        x->userdata = userdata;
        r = sd_event_add_defer(m->event, &x->write_source, on_write, m);
        if (r < 0) {
                free(x);
                return r;
        }
        /* Idle: it runs once the uevents already on the socket are handled, so that the blocks of one
         * unplug, removed one uevent after another, are one write and one unplug. */
        (void)sd_event_source_set_priority(x->write_source, SD_EVENT_PRIORITY_IDLE);
        (void)sd_event_source_set_enabled(x->write_source, SD_EVENT_OFF);
        (void)sd_event_source_set_description(x->write_source, "metrics-write");
        *ret = x;
        return 0;
}

Metrics *metrics_free(Metrics *x)
{
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->write_source);
        free(x->path);
        free(x->text);
        free(x);
        return NULL;
}

int metrics_set_path(Metrics *x, const char *path)
{
        char *p = NULL;

        assert(x);

        if (streq_ptr(x->path, path))
                return 0;
        if (path) {
                p = strdup(path);
                if (!p)
                        return -ENOMEM;
        }
        free(x->path);
        x->path = p;
        x->last_write = 0;
        return p ? remove_stale_temporaries(p) : 0;
}

static void text_stale(Metrics *x)
{
        x->text = mfree(x->text);
}

/* A write once the loop is idle, unless a job is under way: its end writes. */
static void schedule_write(Manager *m)
{
        Metrics *x = m->metrics;

        if (!x->path || (m->onliner && onliner_job(m->onliner)->total > 0))
                return;
        (void)sd_event_source_set_enabled(x->write_source, SD_EVENT_ONESHOT);
}

void metrics_block(Manager *m, const Outcome *o)
{
        Metrics *x;

        assert(m);
        assert(o);

        x = m->metrics;
        if (!x)
                return;
        text_stale(x);
        if (o->kind == OUTCOME_REMOVED) {
                x->removed_pending++;
                schedule_write(m);
                return;
        }
        if (o->kind != OUTCOME_HANDLED)
                return;

        /* An online's outcome has no offline_reason (outcome-types.h). */
        if (o->result == 0 && !o->offline_reason) {
                const Block *b = &m->blocks[o->index];

                if (b->burst == 0)
                        return; /* present at start, or onlined on request: no hot-add of now */
                x->job_burst = b->burst;
                x->job_last_online = now_usec();
                x->job_hotadded_blocks++;
        } else if (o->result == -ETIMEDOUT)
                x->offline_timeouts++;
        else if (o->result < 0 && o->result != -ENODEV && o->result != -ECANCELED &&
                 o->result != -ESHUTDOWN) {
                FailReason r = fail_reason(-o->result);

                if (o->offline_reason)
                        x->offline_failures[r]++;
                else
                        x->online_failures[r]++;
        }
}

/* A settled point (a job's end, or the loop idle after a change): the removals since the last one
 * are one unplug. */
static void settle_removals(Manager *m)
{
        Metrics *x = m->metrics;

        if (x->removed_pending == 0)
                return;
        x->unplugs++;
        x->unplugged_bytes += x->removed_pending * m->block_size;
        x->removed_pending = 0;
        text_stale(x);
}

static void observe_hotadd(Metrics *x, uint64_t usec)
{
        size_t i = 0;

        while (i < N_BUCKETS && usec > hotadd_buckets[i].usec)
                i++;
        x->buckets[i]++;
        x->hotadd_count++;
        x->hotadd_usec_sum += usec;
}

void metrics_job_finished(Manager *m, const Job *job)
{
        Metrics *x;
        uint64_t started;

        assert(m);
        assert(job);

        x = m->metrics;
        if (!x)
                return;
        /* One hot-add is one job (intake_collect_burst()); a job that onlined blocks of a burst the
         * intake no longer knows the start of (an older one, onlined on request) is not one. */
        started = x->job_burst != 0 ? intake_burst_started(m->intake, x->job_burst) : 0;
        if (started > 0 && x->job_burst != x->counted_burst) {
                x->hotadds++;
                x->hotadded_bytes += x->job_hotadded_blocks * m->block_size;
                observe_hotadd(x, x->job_last_online > started ? x->job_last_online - started : 0);
                x->counted_burst = x->job_burst;
        } else if (started > 0)
                /* The rest of a burst counted already (its blocks waited for their node link past the
                 * job's end): its memory, not another hot-add nor another time. */
                x->hotadded_bytes += x->job_hotadded_blocks * m->block_size;
        x->job_burst = 0;
        x->job_last_online = 0;
        x->job_hotadded_blocks = 0;
        settle_removals(m);
        text_stale(x);
        (void)metrics_flush(m);
}

void metrics_changed(Manager *m)
{
        assert(m);

        if (!m->metrics)
                return;
        text_stale(m->metrics);
        schedule_write(m);
}

static int on_write(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;

        /* Idle between two chunks, or while an offline is in flight: the job's end writes. */
        if (m->onliner && onliner_job(m->onliner)->total > 0)
                return 0;
        settle_removals(m);
        (void)metrics_flush(m);
        return 0;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void format_node(char *buf, size_t size, int node)
{
        if (node < 0)
                snprintf(buf, size, "unknown");
        else
                snprintf(buf, size, "%d", node);
}

/* The kinds of zone a block can be in, and "none" for an offline one. */
static const Zone zone_kinds[] = { 0, ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, ZONE_DEVICE };
#define N_ZONE_KINDS ELEMENTSOF(zone_kinds)

static size_t zone_kind(Zone z)
{
        for (size_t i = 1; i < N_ZONE_KINDS; i++)
                if (zone_kinds[i] == z)
                        return i;
        return 0;
}

/* Blocks and memory by node, zone and state: one pass over the table into counts indexed by
 * (node + 1, zone kind, state), node -1 (unknown) first. */
static int render_blocks(FILE *f, const Manager *m)
{
        _cleanup_(freep) uint64_t *counts = NULL;
        int max_node = -1;
        size_t n_nodes, stride = N_ZONE_KINDS * _BLOCK_STATE_MAX;

        for (size_t i = 0; i < m->n_blocks; i++)
                if (block_known(&m->blocks[i]) && m->blocks[i].node > max_node)
                        max_node = m->blocks[i].node;
        n_nodes = (size_t)max_node + 2;
        counts = calloc(n_nodes * stride, sizeof(uint64_t));
        if (!counts)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_blocks; i++) {
                const Block *b = &m->blocks[i];

                if (!block_known(b) || b->state >= _BLOCK_STATE_MAX)
                        continue;
                counts[(size_t)(b->node + 1) * stride +
                       (b->state == BLOCK_OFFLINE ? 0 : zone_kind(b->zone)) * _BLOCK_STATE_MAX + b->state]++;
        }

        for (int bytes = 0; bytes <= 1; bytes++) {
                if (bytes)
                        family(f, "memhotplugd_memory_bytes", "gauge",
                               "Memory in memory blocks, by NUMA node, zone (none when offline) and state.");
                else
                        family(f, "memhotplugd_blocks", "gauge",
                               "Memory blocks, by NUMA node, zone (none when offline) and state.");
                for (size_t n = 0; n < n_nodes; n++)
                        for (size_t z = 0; z < N_ZONE_KINDS; z++)
                                for (size_t s = 0; s < _BLOCK_STATE_MAX; s++) {
                                        uint64_t c = counts[n * stride + z * _BLOCK_STATE_MAX + s];
                                        char node[16];

                                        if (c == 0)
                                                continue;
                                        format_node(node, sizeof(node), (int)n - 1);
                                        fprintf(f, "%s{node=\"%s\",zone=\"%s\",state=\"%s\"} %" PRIu64 "\n",
                                                bytes ? "memhotplugd_memory_bytes" : "memhotplugd_blocks",
                                                node, z == 0 ? "none" : zone_to_string(zone_kinds[z]),
                                                block_state_to_string((BlockState)s),
                                                bytes ? c * m->block_size : c);
                                }
        }
        return 0;
}

/* One placement figure per node with memory online (as NodePlacement), and the system's. */
typedef enum PlacementFigure {
        FIG_KERNEL_BOOT,
        FIG_MOVABLE_MEMMAP,
        FIG_COUNTED_MOVABLE,
        FIG_COUNTED_KERNEL,
        FIG_LIMIT,
        FIG_RATIO,
        _FIG_MAX,
} PlacementFigure;

static const struct {
        const char *name, *help;
} figures[_FIG_MAX] = {
        [FIG_KERNEL_BOOT] = { "kernel_boot_bytes", "Boot memory online in the kernel zones: the base of the "
                                                   "auto-movable ratio." },
        [FIG_MOVABLE_MEMMAP] = { "movable_memmap_bytes",
                                 "Of the memory online in ZONE_MOVABLE, the memmap it carries on itself." },
        [FIG_COUNTED_MOVABLE] = { "auto_movable_counted_movable_bytes",
                                  "Movable memory the kernel's auto-movable rule counts (without virtio-mem "
                                  "devices' own and memmap on the memory)." },
        [FIG_COUNTED_KERNEL] = { "auto_movable_counted_kernel_bytes",
                                 "Boot kernel memory the kernel's auto-movable rule counts it against, "
                                 "after "
                                 "what virtio-mem devices' movable memory takes." },
        [FIG_LIMIT] = { "auto_movable_limit_bytes", "Movable memory the auto-movable ratio allows: ratio "
                                                    "times the counted kernel memory." },
        [FIG_RATIO] = { "auto_movable_ratio", "The MovableRatio= in effect, as a ratio (3.01 for 301%)." },
};

/* The figure in bytes (FIG_RATIO: in percent). */
static uint64_t figure_value(PlacementFigure fig, const PlacementZones *z, const PlacementCheck *c,
                             uint64_t page)
{
        switch (fig) {
        case FIG_KERNEL_BOOT:
                return z->kernel_early * page;
        case FIG_MOVABLE_MEMMAP:
                return z->movable_memmap * page;
        case FIG_COUNTED_MOVABLE:
                return c->movable * page;
        case FIG_COUNTED_KERNEL:
                return c->kernel * page;
        case FIG_LIMIT:
                return (uint64_t)c->ratio * c->kernel / 100 * page;
        case FIG_RATIO:
        case _FIG_MAX:
                break;
        }
        return c->ratio;
}

static void placement_figure(FILE *f, PlacementFigure fig, const char *scope, const char *labels,
                             const PlacementZones *z, const PlacementCheck *c, uint64_t page)
{
        uint64_t v = figure_value(fig, z, c, page);

        fprintf(f, "memhotplugd_%s%s%s ", scope, figures[fig].name, labels);
        if (fig == FIG_RATIO)
                fprintf(f, "%" PRIu64 ".%02" PRIu64 "\n", v / 100, v % 100);
        else
                fprintf(f, "%" PRIu64 "\n", v);
}

static int render_placement(FILE *f, Manager *m)
{
        _cleanup_(freep) PlacementZones *nodes = NULL;
        _cleanup_(freep) PlacementGroup *groups = NULL;
        long page_size = sysconf(_SC_PAGESIZE);
        uint64_t page = page_size > 0 ? (uint64_t)page_size : 4096;
        PlacementFacts facts;
        PlacementZones all;
        PlacementParams p;
        PlacementCheck c;
        size_t n, n_groups;
        int r;

        r = placement_zones_read(m, &nodes, &n, &groups, &n_groups);
        if (r < 0)
                return r;
        facts = (PlacementFacts){
                .nodes = nodes, .n_nodes = n, .groups = groups, .n_groups = n_groups, .page_size = page
        };
        placement_zones_sum(&facts, &all);

        for (PlacementFigure fig = 0; fig < _FIG_MAX; fig++) {
                char name[96], help[256];

                snprintf(name, sizeof(name), "memhotplugd_system_%s", figures[fig].name);
                snprintf(help, sizeof(help), "%s System-wide.", figures[fig].help);
                family(f, name, "gauge", help);
                policy_placement_params(m->config, -1, &p);
                placement_counted(&facts, -1, p.ratio, &c);
                placement_figure(f, fig, "system_", "", &all, &c, page);

                snprintf(name, sizeof(name), "memhotplugd_node_%s", figures[fig].name);
                snprintf(help, sizeof(help), "%s Per NUMA node.", figures[fig].help);
                family(f, name, "gauge", help);
                for (size_t i = 0; i < n; i++) {
                        char labels[32];

                        if (nodes[i].kernel == 0 && nodes[i].movable == 0)
                                continue; /* a node with nothing online: no row */
                        policy_placement_params(m->config, (int)i, &p);
                        placement_counted(&facts, (int)i, p.node_ratio, &c);
                        snprintf(labels, sizeof(labels), "{node=\"%zu\"}", i);
                        placement_figure(f, fig, "node_", labels, &nodes[i], &c, page);
                }
        }
        return 0;
}

static void render_counters(FILE *f, Manager *m, const Metrics *x)
{
        unsigned onlined = 0, failed = 0;
        uint64_t cumulative = 0;

        family(f, "memhotplugd_hotadds_total", "counter",
               "Hot-adds whose blocks the daemon saw online (one per burst of add uevents).");
        fprintf(f, "memhotplugd_hotadds_total %" PRIu64 "\n", x->hotadds);
        family(f, "memhotplugd_hotadded_bytes_total", "counter", "Memory of those hot-adds onlined.");
        fprintf(f, "memhotplugd_hotadded_bytes_total %" PRIu64 "\n", x->hotadded_bytes);
        family(f, "memhotplugd_unplugs_total", "counter",
               "Unplugs: removals of memory blocks, those handled before the daemon was idle again counted "
               "once.");
        fprintf(f, "memhotplugd_unplugs_total %" PRIu64 "\n", x->unplugs);
        family(f, "memhotplugd_unplugged_bytes_total", "counter", "Memory of the memory blocks removed.");
        fprintf(f, "memhotplugd_unplugged_bytes_total %" PRIu64 "\n", x->unplugged_bytes);

        onliner_totals(m->onliner, &onlined, &failed);
        family(f, "memhotplugd_onlined_blocks_total", "counter", "Memory blocks the daemon onlined.");
        fprintf(f, "memhotplugd_onlined_blocks_total %u\n", onlined);

        family(f, "memhotplugd_online_failures_total", "counter",
               "Memory blocks whose onlining failed for good, by reason.");
        for (FailReason r = 0; r < _FAIL_MAX; r++)
                fprintf(f, "memhotplugd_online_failures_total{reason=\"%s\"} %" PRIu64 "\n",
                        fail_reason_names[r], x->online_failures[r]);
        family(f, "memhotplugd_offline_failures_total", "counter",
               "Memory blocks the kernel would not offline, by reason (timeouts apart).");
        for (FailReason r = 0; r < _FAIL_MAX; r++)
                fprintf(f, "memhotplugd_offline_failures_total{reason=\"%s\"} %" PRIu64 "\n",
                        fail_reason_names[r], x->offline_failures[r]);
        family(f, "memhotplugd_offline_timeouts_total", "counter",
               "Offlines interrupted at OfflineTimeoutSec=; the block stayed online.");
        fprintf(f, "memhotplugd_offline_timeouts_total %" PRIu64 "\n", x->offline_timeouts);

        family(f, "memhotplugd_hotadd_duration_seconds", "histogram",
               "Time from a hot-add's first add uevent to its last block online.");
        for (size_t i = 0; i <= N_BUCKETS; i++) {
                cumulative += x->buckets[i];
                if (i < N_BUCKETS)
                        fprintf(f, "memhotplugd_hotadd_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
                                hotadd_buckets[i].le, cumulative);
                else
                        fprintf(f, "memhotplugd_hotadd_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
                                cumulative);
        }
        fprintf(f, "memhotplugd_hotadd_duration_seconds_sum %" PRIu64 ".%06" PRIu64 "\n",
                x->hotadd_usec_sum / USEC_PER_SEC, x->hotadd_usec_sum % USEC_PER_SEC);
        fprintf(f, "memhotplugd_hotadd_duration_seconds_count %" PRIu64 "\n", x->hotadd_count);
}

/* The headroom as HotAddHeadroom says it (headroom-facts.c), read now: free memory changes all the
 * time. Without /proc/zoneinfo the family is left out. A headroom without bound (the memmap on the
 * memory itself) is +Inf. */
static void render_headroom(FILE *f, Manager *m)
{
        _cleanup_(freep) Headroom *h = NULL;
        size_t n = 0;

        if (headroom_read(m, &h, &n) < 0 || n == 0)
                return;
        family(f, "memhotplugd_headroom_bytes", "gauge",
               "The largest hot-add whose memory map fits in free memory now, per NUMA node "
               "(node=\"all\": the system).");
        for (size_t i = 0; i < n; i++) {
                char node[16];

                if (h[i].node < 0)
                        snprintf(node, sizeof(node), "all");
                else
                        snprintf(node, sizeof(node), "%d", h[i].node);
                if (h[i].headroom == UINT64_MAX)
                        fprintf(f, "memhotplugd_headroom_bytes{node=\"%s\"} +Inf\n", node);
                else
                        fprintf(f, "memhotplugd_headroom_bytes{node=\"%s\"} %" PRIu64 "\n", node,
                                h[i].headroom);
        }
}

static void render_daemon(FILE *f, Manager *m)
{
        const VirtioMemMap *v = &m->platform->virtio_mem;
        unsigned drift = 0;

        family(f, "memhotplugd_info", "gauge",
               "The daemon: its version, the KernelAutoOnline= mode in effect and the [Memory] Online= "
               "policy.");
        fprintf(f, "memhotplugd_info{version=\"%s\",kernel_auto_online=\"%s\",online=\"%s\"} 1\n",
                PROJECT_VERSION, kernel_auto_online_to_string(kernel_auto_mode(m)),
                online_type_to_string(m->config->online));
        /* What it read with CAP_SYS_ADMIN before it dropped it: /proc/iomem with its addresses,
         * which tells virtio-mem devices' blocks apart (their memory groups). */
        family(f, "memhotplugd_iomem_addresses", "gauge",
               "1 when the daemon holds /proc/iomem opened with CAP_SYS_ADMIN, addresses shown "
               "(virtio-mem devices' blocks told apart); 0 otherwise.");
        fprintf(f, "memhotplugd_iomem_addresses %d\n", v->fd >= 0 && !v->hidden);
        family(f, "memhotplugd_block_size_bytes", "gauge", "The kernel's memory block size.");
        fprintf(f, "memhotplugd_block_size_bytes %" PRIu64 "\n", m->block_size);
        (void)placement_drift_count(m, &drift);
        family(f, "memhotplugd_drifted_blocks", "gauge",
               "Online blocks in a zone the policy would not choose now (Online=auto-movable).");
        fprintf(f, "memhotplugd_drifted_blocks %u\n", drift);
        family(f, "memhotplugd_job_blocks", "gauge", "Memory blocks in the job under way (0: idle).");
        fprintf(f, "memhotplugd_job_blocks %u\n", onliner_job(m->onliner)->total);
}

int metrics_text(Manager *m, const char **ret)
{
        _cleanup_(freep) char *buf = NULL;
        Metrics *x;
        size_t size = 0;
        FILE *f;
        int r;

        assert(m);
        assert(ret);

        x = m->metrics;
        if (!x)
                return -EOPNOTSUPP;
        if (x->text) {
                *ret = x->text;
                return 0;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        render_daemon(f, m);
        r = render_blocks(f, m);
        if (r >= 0)
                r = render_placement(f, m);
        if (r >= 0) {
                render_counters(f, m, x);
                render_headroom(f, m);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        x->text = TAKE_PTR(buf);
        *ret = x->text;
        return 0;
}

/* The collector's directory is the exporter's: where it does not exist (no exporter installed),
 * no file. */
static bool dir_exists(const char *path)
{
        _cleanup_(freep) char *dir = strdup(path);
        struct stat st;
        char *slash;

        if (!dir)
                return false;
        slash = strrchr(dir, '/');
        if (slash)
                *(slash == dir ? slash + 1 : slash) = '\0';
        return stat(dir, &st) >= 0 && S_ISDIR(st.st_mode);
}

int metrics_flush(Manager *m)
{
        const char *text;
        Metrics *x;
        int r;

        assert(m);

        x = m->metrics;
        if (!x || !x->path)
                return 0;
        (void)sd_event_source_set_enabled(x->write_source, SD_EVENT_OFF);
        if (!dir_exists(x->path))
                r = -ENOENT;
        else {
                r = metrics_text(m, &text);
                if (r >= 0)
                        r = write_file_atomic_mode(x->path, text, 0644);
        }
        if (r != x->last_write && x->written)
                x->written(x->userdata, x->path, r);
        x->last_write = r;
        return r;
}

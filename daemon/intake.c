/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "event-util.h"
#include "intake.h"
#include "kernel-auto.h"
#include "log.h"
#include "memblock.h"
#include "monitor.h"
#include "parse-util.h"
#include "placement-facts.h"
#include "strv.h"
#include "time-constants.h"
#include "time-util.h"

typedef struct NodeWaiting {
        unsigned index;
        uint64_t since; /* now_usec() of its "add" */
        int node;       /* its node once the link was read, else NODE_LOOK_UP */
} NodeWaiting;

struct Intake {
        Manager *manager; /* the block table, sysfs and the loop */
        const IntakeHooks *hooks;
        void *userdata;
        Monitor *monitor;
        bool delegate; /* KernelAutoOnline=delegate: the monitor batches */

        NodeWaiting *node_waiting; /* new blocks not ready yet, oldest first */
        size_t n_node_waiting;
        Timer *node_wait_timer;
        bool burst_open;        /* "add" uevents since the last look for more of their hot-add */
        bool burst_draining;    /* taking the rest of a burst off the socket: still the same burst */
        uint32_t burst_seq;     /* the number of the latest burst of "add" uevents */
        uint64_t burst_started; /* now_usec() of its first "add" uevent */
        uint64_t new_blocks_seq;
        Timer *retry_timer; /* the scan after an allocation failed */
};

/* wait_since: for a new block, when its "add" came (0: now), or NODE_WAIT_EXPIRED once it has waited
 * for its node link as long as it may. */
#define NODE_WAIT_EXPIRED UINT64_MAX
/* Blocks waiting behind a linked one before their node's directory is listed at once, and how many
 * times more blocks the node may hold for that listing to be cheaper than one read per block (a
 * block's own directory has about a dozen entries, the node's one line per block). */
#define NODE_LIST_MIN   8
#define NODE_LIST_RATIO 8
static int take_block(Intake *in, unsigned index, int node, bool from_add, uint64_t wait_since);

/* An allocation that fails while a block is handled must not lose the block: its "add" uevent does
 * not come again. So the block is marked, and a scan takes it (and any block whose uevent could not
 * be read at all) a moment later, and again until it gets through. The timer exists from the
 * start, so arming it allocates nothing. It stays apart from the node-link timer: that one polls
 * every millisecond while blocks wait, this one fires once a second later, and either may be
 * armed while the other runs. */
static int on_retry(Timer *t, uint64_t usec, void *userdata)
{
        Intake *in = userdata;

        if (intake_scan(in, false) == -ENOMEM)
                intake_retry_later(in, BLOCK_INDEX_NONE);
        return 0;
}

void intake_retry_later(Intake *in, unsigned index)
{
        Manager *m;

        assert(in);

        m = in->manager;

        if (index < m->n_blocks)
                m->blocks[index].retry = true;
        /* Already armed: one scan takes every marked block. */
        if (!in->retry_timer || timer_armed(in->retry_timer))
                return;
        (void)timer_arm_in(in->retry_timer, BLOCK_RETRY_USEC);
}

int intake_retry_block(Intake *in, unsigned index, int node, int error, const char *what)
{
        assert(in);
        assert(what);

        intake_retry_later(in, index);
        return log_block(LOG_WARNING, error, NULL, index, node, 0,
                         "Failed to %s, looking at it again in %.0fs: %m", what,
                         (double)BLOCK_RETRY_USEC / USEC_PER_SEC);
}

bool intake_retry_armed(const Intake *in)
{
        assert(in);

        return timer_armed(in->retry_timer);
}

/* The kernel announces a hot-added block before it links it to its node, and links all blocks of
 * one add together once they all exist (register_memory_blocks_under_node() in 6.12), still under
 * the hotplug lock, with no uevent of its own; adds come one after the other. So new blocks without
 * a node wait in the order they came, and one timer looks every millisecond at the oldest: the
 * blocks from it up to the first still without its link are handled then, in that order. Never a
 * later block first: Online=auto-movable decides each block or unit on what was decided before
 * it, as the kernel does in address order, and the links can appear while the daemon reads them.
 * A fixed short poll, not a backoff that overshoots: the link is usually there within a few ms.
 * Under Online=auto-movable, where ACPI memory devices exist, a block also waits for its device to
 * claim it (bound right after the node links), but not long: it may be memory of no such device. */

/* Whether a new block linked to its node still waits for its ACPI memory device, since when it
 * came (0: now). */
static bool acpi_wait(Intake *in, unsigned index, int node, uint64_t since)
{
        return (since == 0 || now_usec() - since < ACPI_WAIT_MAX_USEC) &&
               placement_acpi_pending(in->manager, index, node);
}

/* Handles the first n waiting blocks; the rest wait on. */
static int node_wait_take(Intake *in, size_t n)
{
        _cleanup_(freep) NodeWaiting *l = malloc(n * sizeof(NodeWaiting));
        uint64_t now = now_usec();

        if (!l)
                return -ENOMEM;
        memcpy(l, in->node_waiting, n * sizeof(NodeWaiting));
        in->n_node_waiting -= n;
        memmove(in->node_waiting, in->node_waiting + n, in->n_node_waiting * sizeof(NodeWaiting));
        /* The node just read is passed on: the link does not change, and a second read per block
         * would come while the kernel onlines the blocks before it. */
        for (size_t i = 0; i < n; i++)
                (void)take_block(in, l[i].index, l[i].node, true,
                                 now - l[i].since < NODE_WAIT_MAX_USEC ? l[i].since : NODE_WAIT_EXPIRED);
        return 0;
}

/* Once the oldest waiting block has its link, the kernel has linked (or is linking) the blocks of
 * its add behind it: one listing of the node's directory finds them all, where a listing of each
 * block's own directory takes thousands of instructions a block from the kernel's hot-add. The
 * kernel gives a block its nid before it links nodeM/memoryN, and that before memoryN/nodeM
 * (drivers/base/node.c), so a block listed there is as ready as one whose own link was read. Only
 * when the node holds few blocks more than wait: its listing has every one of them. */
static void node_wait_list(Intake *in, int node)
{
        _cleanup_(freep) int *map = NULL;
        const Manager *m = in->manager;
        size_t n_node = 0, n = 0;

        for (size_t i = 0; i < m->n_blocks; i++)
                n_node += m->blocks[i].node == node && manager_block_present(m, i);
        if (n_node > in->n_node_waiting * NODE_LIST_RATIO)
                return;
        if (memory_read_node_links(m->sysfs, (unsigned)node, &map, &n) < 0)
                return; /* each block is read on its own */
        for (size_t i = 0; i < in->n_node_waiting; i++) {
                NodeWaiting *w = &in->node_waiting[i];

                if (w->node == NODE_LOOK_UP && w->index < n && map[w->index] == node)
                        w->node = node;
        }
}

/* Handles the waiting blocks that have their link (or waited long enough), oldest first, up to the
 * first that still waits; false if blocks still wait. */
static bool node_wait_check(Intake *in)
{
        uint64_t now = now_usec();
        bool listed = false;
        size_t k = 0;

        while (k < in->n_node_waiting) {
                NodeWaiting *w = &in->node_waiting[k];
                int node = w->node, r = 0;

                if (node < 0)
                        r = memblock_read_node(in->manager->sysfs, w->index, &node);
                if (r >= 0 && node >= 0 && !listed && in->n_node_waiting - k >= NODE_LIST_MIN) {
                        listed = true;
                        node_wait_list(in, node);
                }
                if (r == -ENOENT) {
                        /* Gone again (the add failed, or an unplug): its "remove" comes. */
                        memmove(in->node_waiting + k, in->node_waiting + k + 1,
                                (--in->n_node_waiting - k) * sizeof(NodeWaiting));
                        continue;
                }
                if (r >= 0 && now - w->since < NODE_WAIT_MAX_USEC &&
                    (node < 0 || acpi_wait(in, w->index, node, w->since)))
                        break;
                w->node = r >= 0 && node >= 0 ? node : NODE_LOOK_UP;
                k++;
        }
        /* Out of memory: all wait on, and the timer looks again. */
        if (k > 0 && node_wait_take(in, k) < 0)
                return false;
        return in->n_node_waiting == 0;
}

static int on_node_wait(Timer *t, uint64_t usec, void *userdata)
{
        Intake *in = userdata;

        if (node_wait_check(in))
                return 0;
        return timer_arm_in(t, NODE_WAIT_POLL_USEC);
}

/* Drops the waiting blocks that a scan has handled meanwhile. */
static void node_wait_prune(Intake *in)
{
        size_t k = 0;

        for (size_t i = 0; i < in->n_node_waiting; i++)
                if (!manager_block_present(in->manager, in->node_waiting[i].index))
                        in->node_waiting[k++] = in->node_waiting[i];
        in->n_node_waiting = k;
}

static int node_wait(Intake *in, unsigned index, uint64_t since)
{
        NodeWaiting *l;

        for (size_t i = 0; i < in->n_node_waiting; i++)
                if (in->node_waiting[i].index == index)
                        return 0;
        l = realloc(in->node_waiting, (in->n_node_waiting + 1) * sizeof(NodeWaiting));
        if (!l)
                return -ENOMEM;
        in->node_waiting = l;
        in->node_waiting[in->n_node_waiting++] =
                (NodeWaiting){ .index = index, .since = since, .node = NODE_LOOK_UP };

        /* Running already (for an older block) or started now. */
        if (in->n_node_waiting == 1)
                return timer_arm_in(in->node_wait_timer, NODE_WAIT_POLL_USEC);
        return 0;
}

size_t intake_n_waiting(const Intake *in)
{
        assert(in);

        return in->n_node_waiting;
}

/* The one readiness rule: the block's facts, fresh from sysfs, and whether it is ready. Hands it on
 * when it is; returns 0 when there is nothing to hand on (gone, or not ready: the wait or its "add"
 * uevent brings it back), or a negative errno. */
static int take_block(Intake *in, unsigned index, int node, bool from_add, uint64_t wait_since)
{
        Manager *m = in->manager;
        const char *attr = NULL;
        BlockFacts f;
        int r;

        if (!manager_block(m, index)) {
                intake_retry_later(in, BLOCK_INDEX_NONE);
                return log_warning_errno(SYNTHETIC_ERRNO(ENOMEM),
                                         "Out of memory for memory%u, looking again in %.0fs", index,
                                         (double)BLOCK_RETRY_USEC / USEC_PER_SEC);
        }
        m->blocks[index].retry = false;

        if (from_add && node >= 0 && !kernel_auto_onlines_new(m))
                r = memblock_read_added(m->sysfs, index, node, &f, &attr);
        else
                r = memblock_read(m->sysfs, index, node, &f, &attr);
        if (r == -ENOENT) {
                m->blocks[index] = (Block){ .node = -1 }; /* gone again */
                return 0;
        }
        if (r == -ENOMEM) /* opendir() of the block, for its node link */
                return intake_retry_block(in, index, node, r, "read it");
        if (r < 0)
                return log_block(LOG_WARNING, r, NULL, index, -1, 0,
                                 "Failed to read %s%s, skipping block: %m", attr,
                                 r == -EBADMSG ? " (unexpected value)" : "");

        if (from_add && sysfs_has_numa(m->sysfs) && wait_since != NODE_WAIT_EXPIRED &&
            (f.node < 0 || (f.state != BLOCK_ONLINE && acpi_wait(in, index, f.node, wait_since)))) {
                r = node_wait(in, index, wait_since > 0 ? wait_since : now_usec());
                return r < 0 ? intake_retry_block(in, index, -1, r, "wait for its node link") : 0;
        }
        /* Still being added (no node, so valid_zones was not read). */
        if (f.node < 0 && sysfs_has_numa(m->sysfs) && f.state != BLOCK_ONLINE) {
                if (from_add)
                        log_block(LOG_WARNING, 0, NULL, index, -1, 0,
                                  "No node link after %.1fs, skipping block until a rescan",
                                  (double)NODE_WAIT_MAX_USEC / USEC_PER_SEC);
                return 0;
        }
        return in->hooks->ready(in->userdata, index, &f, from_add);
}

int intake_look_again(Intake *in, unsigned index)
{
        assert(in);

        return take_block(in, index, NODE_LOOK_UP, false, 0);
}

/* KernelAutoOnline=delegate: the kernel onlines new memory in its own hot-add path, and every
 * cycle spent on a block's uevents meanwhile is taken from it (a guest's few vCPUs, a busy host).
 * So the monitor leaves the socket unread while uevents keep coming, and reads it once it held
 * still (monitor.c): the burst is quiet then, the kernel has usually onlined its blocks, and their
 * "add" and "online" uevents are handled together, in the order they came. What the kernel onlined
 * is recorded and audited, what it left offline is ours. This batching is the only debounce: the
 * blocks are not held once more here. */
void intake_set_delegate(Intake *in, bool delegate)
{
        if (!in)
                return;
        in->delegate = delegate;
        monitor_set_batching(in->monitor, delegate);
}

static void on_add(Intake *in, unsigned index)
{
        Block *b = &in->manager->blocks[index];

        /* One burst: the "add" uevents from the first after a job ended to the end of the job that
         * onlines them, the rest collected into it (intake_collect_burst()). Its blocks that no
         * device groups are one memory group (placement-facts.c). Not with delegate: the kernel
         * onlines them, in its own groups, and no job of ours collects them. */
        if (!in->delegate) {
                if (!in->burst_open && !in->burst_draining) {
                        if (++in->burst_seq == 0)
                                in->burst_seq = 1;
                        in->burst_started = now_usec();
                }
                in->burst_open = true;
                b->burst = in->burst_seq;
        }
        /* Not a look at the older blocks' links here: the kernel links all blocks of one add at once,
         * after their "add" uevents, so while they come the links are not there, and a read per
         * uevent would only take time from the kernel's add. The wait's timer looks. */
        block_release(b);
        /* Older blocks still wait: this one waits behind them, linked or not. */
        if (in->n_node_waiting > 0 && node_wait(in, index, now_usec()) >= 0)
                return;
        (void)take_block(in, index, NODE_LOOK_UP, true, 0);
}

void intake_on_uevent(Intake *in, const char *action, const char *sysname)
{
        Manager *m;
        unsigned index;
        int r;

        assert(action);
        assert(sysname);
        assert(in);

        m = in->manager;

        r = parse_block_name(sysname, &index);
        if (r == -ERANGE) {
                log_warning("Ignoring the \"%s\" uevent of %s: no kernel numbers a memory block past %u",
                            action, sysname, BLOCK_INDEX_MAX);
                return;
        }
        if (r < 0)
                return;
        if (!manager_block(m, index)) {
                intake_retry_later(in, BLOCK_INDEX_NONE);
                log_warning("Out of memory for the \"%s\" uevent of %s, rescanning in %.0fs", action,
                            sysname, (double)BLOCK_RETRY_USEC / USEC_PER_SEC);
                return;
        }
        if (streq(action, "add")) {
                in->new_blocks_seq++; /* its device's map (ACPI, /proc/iomem) may name it now */
                on_add(in, index);
                return;
        }
        if (!manager_block_present(m, index))
                return;
        if (streq(action, "remove"))
                in->hooks->removed(in->userdata, index);
        else if (streq(action, "online"))
                in->hooks->online(in->userdata, index);
        else if (streq(action, "offline"))
                in->hooks->offline(in->userdata, index);
}

void intake_collect_burst(Intake *in)
{
        assert(in);

        if (!in->burst_open)
                return;
        in->burst_open = false;
        in->burst_draining = true;
        /* The uevents of the burst already queued for us, handled now rather than after this job. */
        if (in->monitor)
                monitor_drain(in->monitor);
        /* Blocks that waited for their node link: linked by now, since their add is over. */
        (void)node_wait_check(in);
        in->burst_draining = false;
}

uint64_t intake_burst_started(const Intake *in, uint32_t burst)
{
        if (!in || burst == 0 || burst != in->burst_seq)
                return 0;
        return in->burst_started;
}

static int cmp_index(const void *a, const void *b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

        return x < y ? -1 : x > y;
}

int intake_scan(Intake *in, bool all)
{
        Manager *m;
        _cleanup_(freep) unsigned *indices = NULL;
        _cleanup_(freep) int *nodes = NULL;
        _cleanup_(freep) uint8_t *seen = NULL;
        _cleanup_(strv_freep) char **refused = NULL;
        size_t n, n_nodes = 0;
        int r;

        assert(in);

        m = in->manager;

        in->new_blocks_seq++;
        r = memblock_enumerate(m->sysfs, &indices, &n, &refused);
        if (r < 0)
                return log_error_errno(r, "Failed to list memory blocks: %m");
        for (char **name = refused; name && *name; name++)
                log_warning("Ignoring %s/devices/system/memory/%s: no kernel numbers a memory block past %u",
                            sysfs_root(m->sysfs), *name, BLOCK_INDEX_MAX);
        /* In address order, as the kernel adds memory: Online=auto-movable's decisions depend on
         * what was decided before, and should not on the order of a directory listing. */
        if (n > 1) /* no list at all when there is no block */
                qsort(indices, n, sizeof(unsigned), cmp_index);
        r = memory_read_node_map(m->sysfs, &nodes, &n_nodes);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r,
                                "Failed to map blocks to nodes in one pass, looking them up one by one: %m");

        for (size_t i = 0; i < n; i++)
                if (!manager_block(m, indices[i]))
                        return log_oom();
        seen = calloc(m->n_blocks, 1);
        if (!seen)
                return log_oom();

        for (size_t i = 0; i < n; i++) {
                unsigned index = indices[i];
                Block *b = &m->blocks[index];

                seen[index] = 1;
                if (!block_known(b) || b->retry ||
                    (all && (b->life == BLOCK_LIFE_LEFT_OFFLINE || b->life == BLOCK_LIFE_FAILED)))
                        (void)take_block(in, index,
                                         index < n_nodes && nodes[index] >= 0 ? nodes[index] : NODE_LOOK_UP,
                                         false, 0);
        }

        /* A block removed while we were not listening (lost events). */
        for (size_t i = 0; i < m->n_blocks; i++)
                if (block_known(&m->blocks[i]) && !seen[i] && m->blocks[i].life != BLOCK_LIFE_QUEUED)
                        in->hooks->removed(in->userdata, (unsigned)i);
        node_wait_prune(in);
        in->hooks->scanned(in->userdata, n);
        return 0;
}

void intake_reconsider(Intake *in, const unsigned *indices, size_t n)
{
        assert(in);
        assert(indices || n == 0);

        in->hooks->reconsider(in->userdata, indices, n);
}

void intake_device_onlined(Intake *in, const unsigned *indices, size_t n)
{
        assert(in);
        assert(indices);

        in->hooks->device_onlined(in->userdata, indices, n);
}

int intake_device_write(Intake *in, const DeviceWrite *w)
{
        assert(in);
        assert(w);

        return in->hooks->device_write(in->userdata, w);
}

bool intake_device_writing(const Intake *in, const char *name)
{
        assert(in);
        assert(name);

        return in->hooks->device_writing(in->userdata, name);
}

const PlacementResult *intake_queued_arithmetic(const Intake *in, unsigned index)
{
        return in ? in->hooks->queued_arithmetic(in->userdata, index) : NULL;
}

uint64_t intake_new_blocks_seq(const Intake *in)
{
        return in ? in->new_blocks_seq : 0;
}

static void on_monitor_event(void *userdata, const char *subsystem, const char *action, const char *sysname)
{
        Intake *in = userdata;

        if (streq(subsystem, "dax"))
                devices_on_uevent(in->manager, action, sysname);
        else if (streq(subsystem, "memory"))
                intake_on_uevent(in, action, sysname);
}

static void on_monitor_overflow(void *userdata, int error)
{
        Intake *in = userdata;

        if (error != ENOBUFS) {
                /* Out of memory, most likely: a scan now would likely fail the same way. */
                log_warning_errno(error, "A uevent was lost, rescanning sysfs in a moment: %m");
                intake_retry_later(in, BLOCK_INDEX_NONE);
                return;
        }
        log_warning("Uevents were lost (receive buffer overflow), rescanning sysfs");
        if (intake_scan(in, false) == -ENOMEM)
                intake_retry_later(in, BLOCK_INDEX_NONE);
}

int intake_listen(Intake *in, UeventSource source)
{
        int r;

        assert(in);

        r = monitor_new(in->manager->event, source, on_monitor_event, on_monitor_overflow, in, &in->monitor);
        if (r < 0)
                return r;
        monitor_set_batching(in->monitor, in->delegate);
        return 0;
}

int intake_new(Manager *m, const IntakeHooks *hooks, void *userdata, Intake **ret)
{
        _cleanup_(intake_freep) Intake *in = NULL;
        int r;

        assert(m);
        assert(hooks);
        assert(ret);

        in = calloc(1, sizeof(Intake));
        if (!in)
                return -ENOMEM;
        in->manager = m;
        in->hooks = hooks;
        in->userdata = userdata;

        r = timer_new(m->event, "block-retry", SD_EVENT_PRIORITY_NORMAL, on_retry, in, &in->retry_timer);
        if (r < 0)
                return r;
        r = timer_new(m->event, "node-link-wait", SD_EVENT_PRIORITY_NORMAL, on_node_wait, in,
                      &in->node_wait_timer);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(in);
        return 0;
}

Intake *intake_free(Intake *in)
{
        if (!in)
                return NULL;
        monitor_free(in->monitor);
        timer_free(in->node_wait_timer);
        timer_free(in->retry_timer);
        free(in->node_waiting);
        free(in);
        return NULL;
}

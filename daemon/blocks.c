/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "dax.h"
#include "devices.h"
#include "event-util.h"
#include "kernel-auto.h"
#include "log.h"
#include "memblock.h"
#include "message-ids.h"
#include "onliner.h"
#include "outcome.h"
#include "parse-util.h"
#include "strv.h"
#include "placement-facts.h"
#include "tiering.h"
#include "time-constants.h"
#include "time-util.h"

/* wait_since: for a new block, when its "add" came (0: now), or NODE_WAIT_EXPIRED once it has waited
 * for its node link as long as it may. */
#define NODE_WAIT_EXPIRED UINT64_MAX
static int handle_block(Manager *m, unsigned index, int node, bool from_add, uint64_t wait_since);

/* An allocation that fails while a block is handled must not lose the block: its "add" uevent does
 * not come again. So the block is marked, and a scan takes it (and any block whose uevent could not
 * be read at all) a moment later, and again until it gets through. The timer exists from the
 * start, so arming it allocates nothing. */
static int on_retry(Timer *t, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        if (blocks_scan(m, false) == -ENOMEM)
                blocks_retry_later(m, BLOCK_INDEX_NONE);
        return 0;
}

void blocks_retry_later(Manager *m, unsigned index)
{
        if (index < m->n_blocks)
                m->blocks[index].flags |= BLOCK_RETRY;
        /* Already armed: one scan takes every marked block. */
        if (!m->retry_timer || timer_armed(m->retry_timer))
                return;
        (void)timer_arm_in(m->retry_timer, BLOCK_RETRY_USEC);
}

/* Logs why the block is looked at again later; returns the error. */
static int block_retry(Manager *m, unsigned index, int node, int error, const char *what)
{
        blocks_retry_later(m, index);
        return log_block(LOG_WARNING, error, NULL, index, node, 0,
                         "Failed to %s, looking at it again in %.0fs: %m", what,
                         (double)BLOCK_RETRY_USEC / USEC_PER_SEC);
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
 * claim it (bound right after the node links: placement_acpi_pending()), but not long: it may be
 * memory of no such device. */

/* Whether a new block linked to its node still waits for its ACPI memory device, since when it
 * came (0: now). */
static bool acpi_wait(Manager *m, unsigned index, int node, uint64_t since)
{
        return (since == 0 || now_usec() - since < ACPI_WAIT_MAX_USEC) &&
               placement_acpi_pending(m, index, node);
}

/* Handles the first n waiting blocks; the rest wait on. */
static int node_wait_take(Manager *m, size_t n)
{
        _cleanup_(freep) NodeWaiting *l = malloc(n * sizeof(NodeWaiting));
        uint64_t now = now_usec();

        if (!l)
                return -ENOMEM;
        memcpy(l, m->node_waiting, n * sizeof(NodeWaiting));
        m->n_node_waiting -= n;
        memmove(m->node_waiting, m->node_waiting + n, m->n_node_waiting * sizeof(NodeWaiting));
        for (size_t i = 0; i < n; i++)
                (void)handle_block(m, l[i].index, NODE_LOOK_UP, true,
                                   now - l[i].since < NODE_WAIT_MAX_USEC ? l[i].since : NODE_WAIT_EXPIRED);
        return 0;
}

/* Handles the waiting blocks that have their link (or waited long enough), oldest first, up to the
 * first that still waits; false if blocks still wait. */
static bool node_wait_check(Manager *m)
{
        uint64_t now = now_usec();
        size_t k = 0;

        while (k < m->n_node_waiting) {
                const NodeWaiting *w = &m->node_waiting[k];
                int node, r;

                r = memblock_read_node(m->sysfs, w->index, &node);
                if (r == -ENOENT) {
                        /* Gone again (the add failed, or an unplug): its "remove" comes. */
                        memmove(m->node_waiting + k, m->node_waiting + k + 1,
                                (--m->n_node_waiting - k) * sizeof(NodeWaiting));
                        continue;
                }
                if (r >= 0 && now - w->since < NODE_WAIT_MAX_USEC &&
                    (node < 0 || acpi_wait(m, w->index, node, w->since)))
                        break;
                k++;
        }
        /* Out of memory: all wait on, and the timer looks again. */
        if (k > 0 && node_wait_take(m, k) < 0)
                return false;
        return m->n_node_waiting == 0;
}

static int on_node_wait(Timer *t, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        if (node_wait_check(m))
                return 0;
        return timer_arm_in(t, NODE_WAIT_POLL_USEC);
}

/* Drops the waiting blocks that a scan has handled meanwhile. */
static void node_wait_prune(Manager *m)
{
        size_t k = 0;

        for (size_t i = 0; i < m->n_node_waiting; i++)
                if (!manager_block_present(m, m->node_waiting[i].index))
                        m->node_waiting[k++] = m->node_waiting[i];
        m->n_node_waiting = k;
}

static int node_wait(Manager *m, unsigned index, uint64_t since)
{
        NodeWaiting *l;

        for (size_t i = 0; i < m->n_node_waiting; i++)
                if (m->node_waiting[i].index == index)
                        return 0;
        l = realloc(m->node_waiting, (m->n_node_waiting + 1) * sizeof(NodeWaiting));
        if (!l)
                return -ENOMEM;
        m->node_waiting = l;
        m->node_waiting[m->n_node_waiting++] = (NodeWaiting){ .index = index, .since = since };

        /* Running already (for an older block) or started now. */
        if (m->n_node_waiting == 1)
                return timer_arm_in(m->node_wait_timer, NODE_WAIT_POLL_USEC);
        return 0;
}

/* Step 1: the block's facts, fresh from sysfs, recorded in the table. Returns 1 when the block is
 * ready for a decision, 0 when there is nothing to decide (gone, or its node link not there yet:
 * the wait or its "add" uevent brings it back), or a negative errno. */
static int block_refresh(Manager *m, unsigned index, int node, bool from_add, uint64_t wait_since,
                         BlockFacts *ret)
{
        const char *attr = NULL;
        Block *b = &m->blocks[index];
        int r;

        r = memblock_read(m->sysfs, index, node, ret, &attr);
        if (r == -ENOENT) {
                *b = (Block){ .node = -1 }; /* gone again */
                return 0;
        }
        if (r == -ENOMEM) /* opendir() of the block, for its node link */
                return block_retry(m, index, node, r, "read it");
        if (r < 0)
                return log_block(LOG_WARNING, r, NULL, index, -1, 0,
                                 "Failed to read %s%s, skipping block: %m", attr,
                                 r == -EBADMSG ? " (unexpected value)" : "");

        if (from_add && sysfs_has_numa(m->sysfs) && wait_since != NODE_WAIT_EXPIRED &&
            (ret->node < 0 || (ret->state != BLOCK_ONLINE && acpi_wait(m, index, ret->node, wait_since)))) {
                r = node_wait(m, index, wait_since > 0 ? wait_since : now_usec());
                return r < 0 ? block_retry(m, index, -1, r, "wait for its node link") : 0;
        }
        /* Still being added (no node, so valid_zones was not read). */
        if (ret->node < 0 && sysfs_has_numa(m->sysfs) && ret->state != BLOCK_ONLINE) {
                if (from_add)
                        log_block(LOG_WARNING, 0, NULL, index, -1, 0,
                                  "No node link after %.1fs, skipping block until a rescan",
                                  (double)NODE_WAIT_MAX_USEC / USEC_PER_SEC);
                return 0;
        }

        /* Memory online in a kernel zone before we saw any event for it is boot memory, the base
         * of Online=auto-movable's ratio. (A block across DMA and DMA32 shows "none".) */
        if (!(b->flags & BLOCK_KNOWN) && !from_add && ret->state == BLOCK_ONLINE &&
            ret->default_zone != ZONE_MOVABLE)
                b->flags |= BLOCK_EARLY;
        b->flags |= BLOCK_KNOWN;
        b->flags &= ~(BLOCK_POLICY_OFFLINE | BLOCK_FAILED);
        b->node = ret->node;
        manager_block_set_zones(m, index, ret);
        /* valid_zones of an online block names the zone it is in. */
        manager_block_set_state(m, index, ret->state, ret->state == BLOCK_ONLINE ? ret->default_zone : 0);
        return 1;
}

/* Step 2: what to do with it. A device's memory follows the device's rule, and goes into one zone:
 * the first block's zone decides for the rest. Returns 1 to act on ret, 0 for a device the policy
 * ignores, -ENOMEM when Online=auto-movable could not count the zones (its decision would be "skip",
 * for good: the block is retried instead). */
static int block_decide(Manager *m, unsigned index, const BlockFacts *f, Decision *ret)
{
        Device *owner = devices_owner_of_block(m, index);
        OnlineType type;
        int r;

        if (!owner) {
                r = placement_decide_block(m, index, f, _ONLINE_TYPE_INVALID, NULL, ret);
                return r == -ENOMEM ? r : 1;
        }
        if (owner->pending) {
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s has no driver yet",
                          owner->dax->name);
                return 0;
        }
        if (owner->decision.action == DAX_ACTION_REBIND) {
                /* Policy-offline, so that a reload looks at it again should the rebind not happen. */
                m->blocks[index].flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s", owner->decision.reason);
                return 0;
        }
        if (owner->decision.action == DAX_ACTION_REVERT) {
                m->blocks[index].flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0, "Left offline: %s",
                          owner->decision.reason);
                return 0;
        }
        if (owner->decision.mode == DAX_MODE_IGNORE) {
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Left alone: %s is %s", owner->dax->name,
                          owner->decision.reason);
                return 0;
        }
        type = owner->decision.online;
        if (type == ONLINE_TYPE_ONLINE && owner->zone != 0)
                type = owner->zone == ZONE_MOVABLE ? ONLINE_TYPE_MOVABLE : ONLINE_TYPE_KERNEL;
        r = placement_decide_block(m, index, f, type, owner->decision.rule, ret);
        if (r == -ENOMEM)
                return r;
        if (ret->action == ACTION_ONLINE)
                devices_block_zone(m, owner, ret->zone);
        return 1;
}

/* Whether d, an Online=auto-movable decision, is the one the block queued last had: the blocks of
 * one group come with the same arithmetic on the same counts, but for the group's size still
 * offline, which shrinks as each is queued. */
static bool decision_repeats(Manager *m, const Decision *d)
{
        if (streq(m->last_queued_rule, d->rule) &&
            placement_result_same_group(&m->last_queued_placement, &d->placement))
                return true;
        snprintf(m->last_queued_rule, sizeof(m->last_queued_rule), "%s", d->rule);
        m->last_queued_placement = d->placement;
        return false;
}

static bool queued_why_same(const QueuedWhy *w, const Decision *d)
{
        return w->type == d->type && w->zone == d->zone && streq(w->rule, d->rule) && w->basis == d->basis &&
               w->asked == d->asked && w->have_valid_zones == d->have_valid_zones &&
               placement_result_equal(&w->placement, &d->placement);
}

/* Keeps the decision a block was queued with; the blocks of a group share it. Out of memory, Plan
 * shows a dry run instead. */
static void queued_why_keep(Manager *m, Block *b, const Decision *d)
{
        size_t n = m->n_queued_whys;
        const QueuedWhy *w = n > 0 ? &m->queued_whys[n - 1] : NULL;
        _cleanup_(freep) char *rule = NULL;
        QueuedWhy *l = m->queued_whys;

        if (!w || !queued_why_same(w, d)) {
                rule = strdup(d->rule);
                if (!rule)
                        return;
                /* Doubled when full (n is 0 or a power of two): blocks decided alone each have
                 * their own arithmetic, thousands of them in a large hot-add. */
                if ((n & (n - 1)) == 0) {
                        l = realloc(m->queued_whys, (n > 0 ? 2 * n : 1) * sizeof(QueuedWhy));
                        if (!l)
                                return;
                        m->queued_whys = l;
                }
                l[m->n_queued_whys++] = (QueuedWhy){
                        .type = d->type,
                        .zone = d->zone,
                        .rule = TAKE_PTR(rule),
                        .basis = d->basis,
                        .asked = d->asked,
                        .have_valid_zones = d->have_valid_zones,
                        .placement = d->placement,
                };
        }
        b->queued_why = (uint32_t)m->n_queued_whys;
}

const QueuedWhy *blocks_queued_why(const Manager *m, unsigned index)
{
        const Block *b = &m->blocks[index];

        if (!(b->flags & BLOCK_QUEUED) || b->queued_why == 0 || b->queued_why > m->n_queued_whys)
                return NULL;
        return &m->queued_whys[b->queued_why - 1];
}

void blocks_forget_queued_whys(Manager *m)
{
        for (size_t i = 0; i < m->n_queued_whys; i++) {
                free(m->queued_whys[i].rule);
        }
        free(m->queued_whys);
        m->queued_whys = NULL;
        m->n_queued_whys = 0;
        for (size_t i = 0; i < m->n_blocks; i++)
                m->blocks[i].queued_why = 0;
}

/* Step 3: queue it, or say why it stays as it is. */
static int block_act(Manager *m, unsigned index, const BlockFacts *f, const Decision *d, bool from_add)
{
        Block *b = &m->blocks[index];
        int r;

        switch (d->action) {
        case ACTION_NONE:
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Nothing to do: %s", d->reason);
                return 0;
        case ACTION_OFFLINE:
                b->flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0, "Left offline: %s",
                          d->reason);
                return 0;
        case ACTION_SKIP:
                b->flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_WARNING, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0,
                          "Left offline, the kernel cannot do what the policy asks: %s", d->reason);
                return 0;
        default:
                break;
        }

        /* When the kernel onlines new blocks itself (we were told to respect that, or delegated it),
         * give it a moment and only take the blocks it leaves offline. */
        if (from_add && kernel_auto_onlines_new(m))
                r = onliner_enqueue(m, index, f->node, d->type, d->zone, ENQUEUE_RECHECK,
                                    now_usec() + m->config->retry_usec);
        else
                r = onliner_enqueue(m, index, f->node, d->type, d->zone, 0, 0);
        if (r < 0)
                return block_retry(m, index, f->node, r, "queue it");
        b->planned_zone = (uint8_t)d->zone;
        if (b->queued_why == 0) /* queued now, not before */
                queued_why_keep(m, b, d);

        /* Online=auto-movable's arithmetic is worth the journal's attention, once per group: the
         * other blocks of a DIMM come with the same arithmetic. */
        log_block(d->basis == DECISION_AUTO_MOVABLE && !decision_repeats(m, d) ? LOG_INFO : LOG_DEBUG, 0,
                  NULL, index, f->node, d->zone, "Queued: %s", d->reason);
        return 0;
}

/* from_add: a new block announced by the kernel, which may be about to online it itself. */
static int handle_block(Manager *m, unsigned index, int node, bool from_add, uint64_t wait_since)
{
        BlockFacts f;
        Decision d;
        int r;

        if (!manager_block(m, index)) {
                blocks_retry_later(m, BLOCK_INDEX_NONE);
                return log_warning_errno(SYNTHETIC_ERRNO(ENOMEM),
                                         "Out of memory for memory%u, looking again in %.0fs", index,
                                         (double)BLOCK_RETRY_USEC / USEC_PER_SEC);
        }
        m->blocks[index].flags &= ~BLOCK_RETRY;
        r = block_refresh(m, index, node, from_add, wait_since, &f);
        if (r <= 0)
                return r;
        /* Marked before a restart of ours (offline-marks.c): still offline, so leave it. */
        if (m->blocks[index].flags & BLOCK_USER_OFFLINE) {
                if (f.state == BLOCK_OFFLINE) {
                        log_block(LOG_INFO, 0, NULL, index, f.node, 0,
                                  "Left offline: it was offlined on purpose (before this daemon started)");
                        return 0;
                }
                m->blocks[index].flags &= ~BLOCK_USER_OFFLINE;
        }
        r = block_decide(m, index, &f, &d);
        if (r < 0)
                return block_retry(m, index, f.node, r, "decide (Online=auto-movable's zone counts)");
        if (r == 0)
                return 0;
        return block_act(m, index, &f, &d, from_add);
}

/* KernelAutoOnline=delegate: the kernel onlined the block by the knobs we set; say so where it put
 * it elsewhere than the policy would (a group the kernel sees differently, say). */
static void audit_delegated(Manager *m, unsigned index)
{
        Decision d;

        if (kernel_auto_mode(m) != KERNEL_AUTO_ONLINE_DELEGATE || !placement_block_drift(m, index, &d))
                return;
        log_block(LOG_WARNING, 0, NULL, index, m->blocks[index].node, m->blocks[index].zone,
                  "The kernel onlined it into %s, not where the policy would: %s",
                  zone_to_string(m->blocks[index].zone), d.reason);
}

static void on_block_online(Manager *m, unsigned index)
{
        Block *b = &m->blocks[index];
        const char *attr;
        BlockFacts f;

        b->flags &= ~(BLOCK_USER_OFFLINE | BLOCK_POLICY_OFFLINE | BLOCK_FAILED);
        /* The zone it went into, from valid_zones, which now names only that zone. */
        if (memblock_read(m->sysfs, index, b->node, &f, &attr) >= 0) {
                manager_block_set_zones(m, index, &f);
                manager_block_set_state(m, index, f.state, f.state == BLOCK_ONLINE ? f.default_zone : 0);
        }
        tiering_check(m, b->node);
        audit_delegated(m, index);
        /* Someone else was faster; nothing left for us to do with it. */
        if (onliner_settle(m, index, 0))
                log_block(LOG_INFO, 0, NULL, index, b->node, 0, "Onlined by another agent while queued");
}

static void on_block_offline(Manager *m, unsigned index)
{
        Block *b = &m->blocks[index];
        const char *attr;
        BlockFacts f;

        /* valid_zones too: offline, the block may go to other zones than the one it was in. */
        if (memblock_read(m->sysfs, index, b->node, &f, &attr) >= 0) {
                manager_block_set_zones(m, index, &f);
                manager_block_set_state(m, index, f.state, 0);
        }
        /* Offlining is deliberate (usually before an unplug): never undo it. */
        if (!(b->flags & (BLOCK_QUEUED | BLOCK_POLICY_OFFLINE | BLOCK_FAILED | BLOCK_USER_OFFLINE))) {
                b->flags |= BLOCK_USER_OFFLINE;
                log_block(LOG_INFO, 0, NULL, index, b->node, 0,
                          "Offlined by someone else, leaving it offline");
        }
}

static void on_block_remove(Manager *m, unsigned index)
{
        /* Removed while queued: not done, not failed, removed (the job summary says so). */
        if (onliner_settle(m, index, -ENODEV))
                log_block(LOG_INFO, 0, NULL, index, m->blocks[index].node, 0,
                          "Removed before it could be handled");
        manager_block_set_state(m, index, BLOCK_OFFLINE, 0);
        m->blocks[index] = (Block){ .node = -1 };
        outcome_block(m, &(Outcome){ .kind = OUTCOME_REMOVED, .index = index });
        log_debug("memory%u: removed", index);
}

/* KernelAutoOnline=delegate: the kernel onlines new memory in its own hot-add path, and every
 * cycle spent on a block's uevents meanwhile is taken from it (a guest's few vCPUs, a busy host).
 * So the "add" and "online" uevents of blocks are only noted, and looked at together once the
 * burst is quiet (DELEGATE_QUIET_USEC after the last one, at most DELEGATE_MAX_USEC after the
 * first): what the kernel onlined is recorded and audited, what it left offline is ours. */
static int on_deferred(Timer *t, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        _cleanup_(freep) unsigned *l = m->deferred;
        size_t n = m->n_deferred;

        m->deferred = NULL;
        m->n_deferred = 0;
        for (size_t i = 0; i < n; i++) {
                Block *b = &m->blocks[l[i]];
                unsigned flags = b->flags;

                b->flags &= ~(BLOCK_DEFERRED_ADD | BLOCK_DEFERRED_ONLINE);
                if (flags & BLOCK_DEFERRED_ADD) {
                        b->flags &= ~BLOCK_USER_OFFLINE;
                        (void)handle_block(m, l[i], NODE_LOOK_UP, true, 0);
                }
                if ((flags & BLOCK_DEFERRED_ONLINE) && (b->flags & BLOCK_KNOWN))
                        on_block_online(m, l[i]);
        }
        return 0;
}

static int defer_block(Manager *m, unsigned index, bool add)
{
        Block *b = &m->blocks[index];
        uint64_t now = now_usec(), at;

        if (!(b->flags & (BLOCK_DEFERRED_ADD | BLOCK_DEFERRED_ONLINE))) {
                unsigned *l = realloc(m->deferred, (m->n_deferred + 1) * sizeof(unsigned));

                if (!l)
                        return -ENOMEM;
                m->deferred = l;
                m->deferred[m->n_deferred++] = index;
                if (m->n_deferred == 1)
                        m->deferred_since = now;
        }
        b->flags |= add ? BLOCK_DEFERRED_ADD : BLOCK_DEFERRED_ONLINE;

        at = now + DELEGATE_QUIET_USEC;
        if (at > m->deferred_since + DELEGATE_MAX_USEC)
                at = m->deferred_since + DELEGATE_MAX_USEC;
        return timer_arm_at(m->deferred_timer, at);
}

/* The timers are made at start: arming one allocates nothing. */
int blocks_setup(Manager *m)
{
        int r;

        r = timer_new(m->event, "block-retry", SD_EVENT_PRIORITY_NORMAL, on_retry, m, &m->retry_timer);
        if (r < 0)
                return r;
        r = timer_new(m->event, "node-link-wait", SD_EVENT_PRIORITY_NORMAL, on_node_wait, m,
                      &m->node_wait_timer);
        if (r < 0)
                return r;
        return timer_new(m->event, "delegate-quiet", SD_EVENT_PRIORITY_NORMAL, on_deferred, m,
                         &m->deferred_timer);
}

void blocks_on_uevent(Manager *m, const char *action, const char *sysname)
{
        unsigned index;
        Block *b;
        int r;

        assert(m);
        assert(action);
        assert(sysname);

        r = parse_block_name(sysname, &index);
        if (r == -ERANGE) {
                log_warning("Ignoring the \"%s\" uevent of %s: no kernel numbers a memory block past %u",
                            action, sysname, BLOCK_INDEX_MAX);
                return;
        }
        if (r < 0)
                return;
        b = manager_block(m, index);
        if (!b) {
                blocks_retry_later(m, BLOCK_INDEX_NONE);
                log_warning("Out of memory for the \"%s\" uevent of %s, rescanning in %.0fs", action,
                            sysname, (double)BLOCK_RETRY_USEC / USEC_PER_SEC);
                return;
        }
        if (streq(action, "add"))
                m->new_blocks_seq++; /* its device's map (ACPI, /proc/iomem) may name it now */
        if (kernel_auto_mode(m) == KERNEL_AUTO_ONLINE_DELEGATE &&
            (streq(action, "add") || streq(action, "online")) &&
            defer_block(m, index, streq(action, "add")) >= 0)
                return;

        if (streq(action, "add")) {
                /* One burst: the "add" uevents from the first after a job ended to the end of the
                 * job that onlines them, the rest collected into it (blocks_collect_burst()). Its
                 * blocks that no device groups are one memory group (placement-facts.c). */
                if (!m->burst_open && !m->burst_draining && ++m->burst_seq == 0)
                        m->burst_seq = 1;
                m->burst_open = true;
                b->burst = m->burst_seq;
                /* Blocks still waiting for their link may have it now (it comes for a whole add at
                 * once): handled before this one, so that a burst is queued whole and in order. */
                if (m->n_node_waiting > 0)
                        (void)node_wait_check(m);
                b->flags &= ~BLOCK_USER_OFFLINE;
                /* Older blocks still wait: this one waits behind them, linked or not. */
                if (m->n_node_waiting > 0 && node_wait(m, index, now_usec()) >= 0)
                        return;
                (void)handle_block(m, index, NODE_LOOK_UP, true, 0);
                return;
        }
        if (!(b->flags & BLOCK_KNOWN))
                return;
        if (streq(action, "remove"))
                on_block_remove(m, index);
        else if (streq(action, "online"))
                on_block_online(m, index);
        else if (streq(action, "offline"))
                on_block_offline(m, index);
}

void blocks_collect_burst(Manager *m)
{
        if (!m->burst_open)
                return;
        m->burst_open = false;
        m->burst_draining = true;
        /* The uevents of the burst already queued for us, handled now rather than after this job. */
        if (m->monitor)
                monitor_drain(m->monitor);
        /* Blocks that waited for their node link: linked by now, since their add is over. */
        (void)node_wait_check(m);
        m->burst_draining = false;
}

void blocks_reconsider(Manager *m, const unsigned *indices, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                Block *b = &m->blocks[indices[i]];

                if (b->state == BLOCK_ONLINE || (b->flags & (BLOCK_QUEUED | BLOCK_USER_OFFLINE)))
                        continue;
                b->flags &= ~BLOCK_POLICY_OFFLINE;
                (void)handle_block(m, indices[i], NODE_LOOK_UP, false, 0);
        }
}

static int cmp_index(const void *a, const void *b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

        return x < y ? -1 : x > y;
}

int blocks_scan(Manager *m, bool all)
{
        _cleanup_(freep) unsigned *indices = NULL;
        _cleanup_(freep) int *nodes = NULL;
        _cleanup_(freep) uint8_t *seen = NULL;
        _cleanup_(strv_freep) char **refused = NULL;
        size_t n, n_nodes = 0;
        int r;

        m->new_blocks_seq++;
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
                if (!(b->flags & BLOCK_KNOWN) || (b->flags & BLOCK_RETRY) ||
                    (all && (b->flags & (BLOCK_POLICY_OFFLINE | BLOCK_FAILED)) &&
                     !(b->flags & BLOCK_QUEUED)))
                        (void)handle_block(
                                m, index, index < n_nodes && nodes[index] >= 0 ? nodes[index] : NODE_LOOK_UP,
                                false, 0);
        }

        /* A block removed while we were not listening (lost events). */
        for (size_t i = 0; i < m->n_blocks; i++)
                if ((m->blocks[i].flags & BLOCK_KNOWN) && !seen[i] && !(m->blocks[i].flags & BLOCK_QUEUED)) {
                        manager_block_set_state(m, i, BLOCK_OFFLINE, 0);
                        m->blocks[i] = (Block){ .node = -1 };
                        outcome_block(m, &(Outcome){ .kind = OUTCOME_REMOVED, .index = (unsigned)i });
                }
        node_wait_prune(m);
        log_debug("Scanned %zu memory blocks, %zu queued", n, queue_size(&m->queue));
        if (queue_size(&m->queue) == 0 && m->options.once)
                (void)sd_event_exit(m->event, m->total_failed > 0 ? 1 : 0);
        onliner_notify_status(m);
        return 0;
}

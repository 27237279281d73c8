/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>

#include "blocks.h"
#include "dax.h"
#include "devices.h"
#include "event-util.h"
#include "log.h"
#include "memblock.h"
#include "message-ids.h"
#include "onliner.h"
#include "parse-util.h"
#include "placement-facts.h"
#include "tiering.h"
#include "time-util.h"

static int handle_block(Manager *m, unsigned index, int node, bool from_add, unsigned node_tries);

/* The kernel sends a new block's "add" uevent before it links the block to its node: a block
 * that shows no node yet on a NUMA system is looked at again shortly. */
#define NODE_WAIT_FIRST_USEC (1 * USEC_PER_MSEC) /* doubled each try: 1, 2, 4 … 512 ms, ~1 s in all */
#define NODE_WAIT_TRIES      10

typedef struct NodeWait {
        Manager *manager;
        unsigned index, tries;
} NodeWait;

static int on_node_wait(void *userdata)
{
        NodeWait *w = userdata;

        (void)handle_block(w->manager, w->index, NODE_LOOK_UP, true, w->tries);
        return 0;
}

static int node_wait(Manager *m, unsigned index, unsigned tries)
{
        NodeWait *w;
        int r;

        w = malloc(sizeof(NodeWait));
        if (!w)
                return -ENOMEM;
        *w = (NodeWait){ .manager = m, .index = index, .tries = tries };
        r = event_add_later(m->event, "node-link-wait", NODE_WAIT_FIRST_USEC << (tries - 1), on_node_wait, w,
                            free);
        if (r < 0)
                free(w);
        return r;
}

/* Step 1: the block's facts, fresh from sysfs, recorded in the table. Returns 1 when the block is
 * ready for a decision, 0 when there is nothing to decide (gone, or its node link not there yet:
 * the wait or its "add" uevent brings it back), or a negative errno. */
static int block_refresh(Manager *m, unsigned index, int node, bool from_add, unsigned node_tries,
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
        if (r < 0)
                return log_block(LOG_WARNING, r, NULL, index, -1, 0, "Cannot read %s%s, skipping block: %m",
                                 attr, r == -EBADMSG ? " (unexpected value)" : "");

        if (from_add && ret->node < 0 && sysfs_has_numa(m->sysfs) && node_tries < NODE_WAIT_TRIES &&
            node_wait(m, index, node_tries + 1) >= 0)
                return 0;
        /* Still being added (no node, so valid_zones was not read). */
        if (ret->node < 0 && sysfs_has_numa(m->sysfs) && ret->state != BLOCK_ONLINE) {
                if (from_add)
                        log_block(LOG_WARNING, 0, NULL, index, -1, 0,
                                  "No node link after %u tries, skipping block until a rescan", node_tries);
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
        /* valid_zones of an online block names the zone it is in. */
        manager_block_set_state(m, index, ret->state, ret->state == BLOCK_ONLINE ? ret->default_zone : 0);
        return 1;
}

/* Step 2: what to do with it. A device's memory follows the device's rule, and goes into one zone:
 * the first block's zone decides for the rest. Returns false for a device the policy ignores. */
static bool block_decide(Manager *m, unsigned index, const BlockFacts *f, Decision *ret)
{
        Device *owner = devices_owner_of_block(m, index);
        OnlineType type;

        if (!owner) {
                (void)placement_decide_block(m, index, f, _ONLINE_TYPE_INVALID, NULL, ret);
                return true;
        }
        if (owner->pending) {
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s has no driver yet",
                          owner->dax->name);
                return false;
        }
        if (owner->decision.action == DAX_ACTION_REBIND) {
                /* Policy-offline, so that a reload looks at it again should the rebind not happen. */
                m->blocks[index].flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s", owner->decision.reason);
                return false;
        }
        if (owner->decision.action == DAX_ACTION_REVERT) {
                m->blocks[index].flags |= BLOCK_POLICY_OFFLINE;
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0, "Left offline: %s",
                          owner->decision.reason);
                return false;
        }
        if (owner->decision.mode == DAX_MODE_IGNORE) {
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Left alone: %s is %s", owner->dax->name,
                          owner->decision.reason);
                return false;
        }
        type = owner->decision.online;
        if (type == ONLINE_TYPE_ONLINE && owner->zone != 0)
                type = owner->zone == ZONE_MOVABLE ? ONLINE_TYPE_MOVABLE : ONLINE_TYPE_KERNEL;
        (void)placement_decide_block(m, index, f, type, owner->decision.rule, ret);
        if (ret->action == ACTION_ONLINE)
                devices_block_zone(m, owner, ret->zone);
        return true;
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

        /* When the kernel onlines new blocks itself and we were told to respect that, give it a
         * moment and only take the blocks it leaves offline. */
        if (from_add && m->config->kernel_auto_online == KERNEL_AUTO_ONLINE_RESPECT &&
            m->kernel_auto_original[0] && !streq(m->kernel_auto_original, "offline"))
                r = onliner_enqueue(m, index, f->node, d->type, d->zone, ENQUEUE_RECHECK,
                                    now_usec() + m->config->retry_usec);
        else
                r = onliner_enqueue(m, index, f->node, d->type, d->zone, 0, 0);
        if (r < 0)
                return log_oom();
        b->planned_zone = (uint8_t)d->zone;

        /* Online=auto-movable's arithmetic is worth the journal's attention. */
        log_block(strstr(d->reason, "auto-movable") ? LOG_INFO : LOG_DEBUG, 0, NULL, index, f->node, d->zone,
                  "Queued: %s", d->reason);
        return 0;
}

/* from_add: a new block announced by the kernel, which may be about to online it itself. */
static int handle_block(Manager *m, unsigned index, int node, bool from_add, unsigned node_tries)
{
        BlockFacts f;
        Decision d;
        int r;

        if (!manager_block(m, index))
                return log_oom();
        r = block_refresh(m, index, node, from_add, node_tries, &f);
        if (r <= 0)
                return r;
        if (!block_decide(m, index, &f, &d))
                return 0;
        return block_act(m, index, &f, &d, from_add);
}

static void on_block_online(Manager *m, unsigned index)
{
        Block *b = &m->blocks[index];
        const char *attr;
        BlockFacts f;

        b->flags &= ~(BLOCK_USER_OFFLINE | BLOCK_POLICY_OFFLINE | BLOCK_FAILED);
        /* The zone it went into, from valid_zones, which now names only that zone. */
        if (memblock_read(m->sysfs, index, b->node, &f, &attr) >= 0)
                manager_block_set_state(m, index, f.state, f.state == BLOCK_ONLINE ? f.default_zone : 0);
        tiering_check(m, b->node);
        /* Someone else was faster; nothing left for us to do with it. */
        if (onliner_settle(m, index, 0))
                log_block(LOG_INFO, 0, NULL, index, b->node, 0, "Onlined by another agent while queued");
}

static void on_block_offline(Manager *m, unsigned index)
{
        Block *b = &m->blocks[index];
        BlockState st;

        if (memblock_read_state(m->sysfs, index, &st) >= 0)
                manager_block_set_state(m, index, st, 0);
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
        log_debug("memory%u: removed", index);
}

void blocks_on_uevent(Manager *m, const char *action, const char *sysname)
{
        unsigned index;
        Block *b;

        assert(m);
        assert(action);
        assert(sysname);

        if (parse_sysname_index(sysname, "memory", &index) < 0)
                return;
        b = manager_block(m, index);
        if (!b) {
                log_oom();
                return;
        }

        if (streq(action, "add")) {
                b->flags &= ~BLOCK_USER_OFFLINE;
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
        size_t n, n_nodes = 0;
        int r;

        r = memblock_enumerate(m->sysfs, &indices, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list memory blocks: %m");
        /* In address order, as the kernel adds memory: Online=auto-movable's decisions depend on
         * what was decided before, and should not on the order of a directory listing. */
        qsort(indices, n, sizeof(unsigned), cmp_index);
        r = memory_read_node_map(m->sysfs, &nodes, &n_nodes);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Cannot map blocks to nodes in one pass, looking them up one by one: %m");

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
                if (!(b->flags & BLOCK_KNOWN) ||
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
                }
        log_debug("Scanned %zu memory blocks, %zu queued", n, queue_size(&m->queue));
        if (queue_size(&m->queue) == 0 && m->options.once)
                (void)sd_event_exit(m->event, m->total_failed > 0 ? 1 : 0);
        onliner_notify_status(m);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "dax.h"
#include "devices.h"
#include "intake.h"
#include "kernel-auto.h"
#include "log.h"
#include "memblock.h"
#include "message-ids.h"
#include "parse-util.h"
#include "placement-facts.h"
#include "tiering.h"
#include "time-constants.h"
#include "time-util.h"

/* Step 1: the block's facts, as intake read them, recorded in the table. */
static void block_refresh(Manager *m, unsigned index, const BlockFacts *f, bool from_add)
{
        Block *b = &m->blocks[index];

        /* Memory online in a kernel zone before we saw any event for it is boot memory, the base
         * of Online=auto-movable's ratio. (A block across DMA and DMA32 shows "none".) */
        if (!block_known(b) && !from_add && f->state == BLOCK_ONLINE && f->default_zone != ZONE_MOVABLE)
                b->facts |= BLOCK_FACT_EARLY;
        block_seen(b);
        b->node = f->node;
        manager_block_set_zones(m, index, f);
        /* valid_zones of an online block names the zone it is in. */
        manager_block_set_state(m, index, f->state, f->state == BLOCK_ONLINE ? f->default_zone : 0);
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
        /* A block of it seen (the tally changes, even for one left offline with no outcome). */
        devices_hotplug_touch(m, owner);
        if (owner->pending) {
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s has no driver yet",
                          owner->dax->name);
                return 0;
        }
        if (owner->decision.action == DAX_ACTION_REBIND) {
                /* Policy-offline, so that a reload looks at it again should the rebind not happen. */
                block_left_offline(&m->blocks[index]);
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s", owner->decision.reason);
                return 0;
        }
        if (owner->decision.action == DAX_ACTION_REVERT) {
                block_left_offline(&m->blocks[index]);
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0, "Left offline: %s",
                          owner->decision.reason);
                return 0;
        }
        if (owner->decision.mode == DAX_MODE_IGNORE) {
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Left alone: %s is %s", owner->dax->name,
                          owner->decision.reason);
                return 0;
        }
        if (f->state != BLOCK_ONLINE && intake_device_writing(m->intake, owner->dax->name)) {
                /* Its state is being written on the offline thread: `unplugged` removes the block,
                 * the zone adds it again online; whatever is left is looked at when that is over. */
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s/state is being written",
                          owner->dax->name);
                return 0;
        }
        if (owner->dax->hotplug == DAX_HOTPLUG_OFFLINE && !owner->hotplug_by_block &&
            f->state != BLOCK_ONLINE && owner->decision.mode == DAX_MODE_SYSTEM_RAM &&
            dax_hotplug_for_online_type(owner->decision.online) >= 0) {
                /* Added offline by kmem's bind: the device's `unplugged` is about to remove it, and
                 * the zone write adds it again online (devices-hotplug.c). */
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Waiting: %s goes online through %s/state",
                          owner->dax->name, owner->dax->name);
                return 0;
        }
        type = owner->decision.online;
        /* Linux 7.3: a file that names a zone is where the device's offline blocks belong. */
        if (owner->dax->hotplug == DAX_HOTPLUG_ONLINE_MOVABLE)
                type = ONLINE_TYPE_MOVABLE;
        else if (owner->dax->hotplug == DAX_HOTPLUG_ONLINE_KERNEL)
                type = ONLINE_TYPE_KERNEL;
        if (type == ONLINE_TYPE_ONLINE && owner->zone != 0)
                type = owner->zone == ZONE_MOVABLE ? ONLINE_TYPE_MOVABLE : ONLINE_TYPE_KERNEL;
        r = placement_decide_block(m, index, f, type, owner->decision.rule, ret);
        if (r == -ENOMEM)
                return r;
        if (ret->action == ACTION_ONLINE)
                devices_block_zone(m, owner, ret->zone);
        return 1;
}

struct Decider {
        const DecideHooks *hooks;
        void *userdata;
        /* The Online=auto-movable decision the block queued last had; no rule: none. */
        char last_queued_rule[80];
        PlacementResult last_queued_placement;
        QueuedWhy *queued_whys; /* the decisions of the current job's blocks */
        size_t n_queued_whys;
};

int decider_new(const DecideHooks *hooks, void *userdata, Decider **ret)
{
        Decider *dc;

        assert(hooks && hooks->queue && hooks->settle && hooks->removed);
        assert(ret);

        dc = calloc(1, sizeof(Decider));
        if (!dc)
                return -ENOMEM;
        dc->hooks = hooks;
        dc->userdata = userdata;
        *ret = dc;
        return 0;
}

static void queued_whys_free(Decider *dc)
{
        for (size_t i = 0; i < dc->n_queued_whys; i++) {
                free(dc->queued_whys[i].rule);
        }
        free(dc->queued_whys);
        dc->queued_whys = NULL;
        dc->n_queued_whys = 0;
}

Decider *decider_free(Decider *dc)
{
        if (!dc)
                return NULL;
        queued_whys_free(dc);
        free(dc);
        return NULL;
}

/* Whether d, an Online=auto-movable decision, is the one the block queued last had: the blocks of
 * one group come with the same arithmetic on the same counts, but for the group's size still
 * offline, which shrinks as each is queued. */
static bool decision_repeats(Decider *dc, const Decision *d)
{
        if (streq(dc->last_queued_rule, d->rule) &&
            placement_result_same_group(&dc->last_queued_placement, &d->placement))
                return true;
        snprintf(dc->last_queued_rule, sizeof(dc->last_queued_rule), "%s", d->rule);
        dc->last_queued_placement = d->placement;
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
static void queued_why_keep(Decider *dc, Block *b, const Decision *d)
{
        size_t n = dc->n_queued_whys;
        const QueuedWhy *w = n > 0 ? &dc->queued_whys[n - 1] : NULL;
        _cleanup_(freep) char *rule = NULL;
        QueuedWhy *l = dc->queued_whys;

        if (!w || !queued_why_same(w, d)) {
                rule = strdup(d->rule);
                if (!rule)
                        return;
                /* Doubled when full (n is 0 or a power of two): blocks decided alone each have
                 * their own arithmetic, thousands of them in a large hot-add. */
                if ((n & (n - 1)) == 0) {
                        l = realloc(dc->queued_whys, (n > 0 ? 2 * n : 1) * sizeof(QueuedWhy));
                        if (!l)
                                return;
                        dc->queued_whys = l;
                }
                l[dc->n_queued_whys++] = (QueuedWhy){
                        .type = d->type,
                        .zone = d->zone,
                        .rule = TAKE_PTR(rule),
                        .basis = d->basis,
                        .asked = d->asked,
                        .have_valid_zones = d->have_valid_zones,
                        .placement = d->placement,
                };
        }
        b->queued_why = (uint32_t)dc->n_queued_whys;
}

const QueuedWhy *blocks_queued_why(const Manager *m, unsigned index)
{
        const Decider *dc;
        const Block *b;

        assert(m);

        dc = m->decider;
        b = &m->blocks[index];

        if (b->life != BLOCK_LIFE_QUEUED || b->queued_why == 0 || b->queued_why > dc->n_queued_whys)
                return NULL;
        return &dc->queued_whys[b->queued_why - 1];
}

const PlacementResult *blocks_queued_arithmetic(void *userdata, unsigned index)
{
        const QueuedWhy *why;

        assert(userdata);

        why = blocks_queued_why(userdata, index);

        return why && why->basis == DECISION_AUTO_MOVABLE ? &why->placement : NULL;
}

void blocks_forget_queued_whys(Manager *m)
{
        assert(m);

        queued_whys_free(m->decider);
        for (size_t i = 0; i < m->n_blocks; i++)
                m->blocks[i].queued_why = 0;
}

/* Step 3: queue it, or say why it stays as it is. */
static int block_act(Manager *m, unsigned index, const BlockFacts *f, const Decision *d, bool from_add)
{
        Decider *dc = m->decider;
        Block *b = &m->blocks[index];
        int r;

        switch (d->action) {
        case ACTION_NONE:
                log_block(LOG_DEBUG, 0, NULL, index, f->node, 0, "Nothing to do: %s", d->reason);
                return 0;
        case ACTION_OFFLINE:
                block_left_offline(b);
                log_block(LOG_INFO, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0, "Left offline: %s",
                          d->reason);
                return 0;
        case ACTION_SKIP:
                block_left_offline(b);
                log_block(LOG_WARNING, 0, MHP_MESSAGE_BLOCK_LEFT_OFFLINE, index, f->node, 0,
                          "Left offline, the kernel cannot do what the policy asks: %s", d->reason);
                return 0;
        default:
                break;
        }

        /* When the kernel onlines new blocks itself (we were told to respect that, or delegated it),
         * give it a moment and only take the blocks it leaves offline. */
        if (from_add && kernel_auto_onlines_new(m))
                r = dc->hooks->queue(dc->userdata, index, f->node, d->type, d->zone, true,
                                     now_usec() + m->config->retry_usec);
        else
                r = dc->hooks->queue(dc->userdata, index, f->node, d->type, d->zone, false, 0);
        if (r < 0)
                return intake_retry_block(m->intake, index, f->node, r, "queue it");
        b->planned_zone = (uint8_t)d->zone;
        if (b->queued_why == 0) /* queued now, not before */
                queued_why_keep(dc, b, d);

        /* Online=auto-movable's arithmetic is worth the journal's attention, once per group: the
         * other blocks of a DIMM come with the same arithmetic. */
        log_block(d->basis == DECISION_AUTO_MOVABLE && !decision_repeats(dc, d) ? LOG_INFO : LOG_DEBUG, 0,
                  NULL, index, f->node, d->zone, "Queued: %s", d->reason);
        return 0;
}

/* A block intake found ready: record it, decide, act. from_add: a new block announced by the
 * kernel, which may be about to online it itself. */
int blocks_ready(void *userdata, unsigned index, const BlockFacts *f, bool from_add)
{
        Manager *m;
        Decision d;
        int r;

        assert(userdata);
        assert(f);

        m = userdata;

        block_refresh(m, index, f, from_add);
        /* Marked before a restart of ours (offline-marks.c): still offline, so leave it. */
        if (block_held(&m->blocks[index])) {
                if (f->state == BLOCK_OFFLINE) {
                        log_block(LOG_INFO, 0, NULL, index, f->node, 0,
                                  "Left offline: it was offlined on purpose (before this daemon started)");
                        return 0;
                }
                block_release(&m->blocks[index]);
        }
        r = block_decide(m, index, f, &d);
        if (r < 0)
                return intake_retry_block(m->intake, index, f->node, r,
                                          "decide (Online=auto-movable's zone counts)");
        if (r == 0)
                return 0;
        return block_act(m, index, f, &d, from_add);
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

void blocks_on_online(void *userdata, unsigned index)
{
        Manager *m;
        const Decider *dc;
        Block *b;
        const char *attr;
        BlockFacts f;

        assert(userdata);

        m = userdata;
        dc = m->decider;
        b = &m->blocks[index];

        block_onlined(b);
        /* The zone it went into: the onliner's write said it (the uevent of our own online), or
         * valid_zones, which now names only that zone. */
        if (b->state == BLOCK_ONLINE && b->zone != 0) {
                f = (BlockFacts){ .state = BLOCK_ONLINE,
                                  .valid_zones = b->zone,
                                  .default_zone = b->zone,
                                  .have_valid_zones = true };
                manager_block_set_zones(m, index, &f);
        } else if (memblock_read(m->sysfs, index, b->node, &f, &attr) >= 0) {
                manager_block_set_zones(m, index, &f);
                manager_block_set_state(m, index, f.state, f.state == BLOCK_ONLINE ? f.default_zone : 0);
        }
        tiering_check(m, b->node);
        audit_delegated(m, index);
        /* Someone else was faster; nothing left for us to do with it. */
        if (dc->hooks->settle(dc->userdata, index, 0))
                log_block(LOG_INFO, 0, NULL, index, b->node, 0, "Onlined by another agent while queued");
}

void blocks_on_offline(void *userdata, unsigned index)
{
        Manager *m;
        Block *b;
        const char *attr;
        BlockFacts f;

        assert(userdata);

        m = userdata;
        b = &m->blocks[index];

        /* valid_zones too: offline, the block may go to other zones than the one it was in. */
        if (memblock_read(m->sysfs, index, b->node, &f, &attr) >= 0) {
                manager_block_set_zones(m, index, &f);
                manager_block_set_state(m, index, f.state, 0);
        }
        /* Offlining is deliberate (usually before an unplug): never undo it. */
        if (block_hold_offlined(b))
                log_block(LOG_INFO, 0, NULL, index, b->node, 0,
                          "Offlined by someone else, leaving it offline");
}

void blocks_on_removed(void *userdata, unsigned index)
{
        Manager *m;
        const Decider *dc;

        assert(userdata);

        m = userdata;
        dc = m->decider;

        /* Removed while queued: not done, not failed, removed (the job summary says so). */
        if (dc->hooks->settle(dc->userdata, index, -ENODEV))
                log_block(LOG_INFO, 0, NULL, index, m->blocks[index].node, 0,
                          "Removed before it could be handled");
        manager_block_set_state(m, index, BLOCK_OFFLINE, 0);
        m->blocks[index] = (Block){ .node = -1 };
        dc->hooks->removed(dc->userdata, index);
        log_debug("memory%u: removed", index);
}

void blocks_reconsider(void *userdata, const unsigned *indices, size_t n)
{
        Manager *m;

        assert(userdata);
        assert(indices || n == 0);

        m = userdata;

        for (size_t i = 0; i < n; i++) {
                Block *b = &m->blocks[indices[i]];

                if (b->state == BLOCK_ONLINE || b->life == BLOCK_LIFE_QUEUED || block_held(b))
                        continue;
                block_reconsidered(b);
                (void)intake_look_again(m->intake, indices[i]);
        }
}

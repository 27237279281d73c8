/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "cxl.h"
#include "dax.h"
#include "device-log.h"
#include "devices-internal.h"
#include "event-util.h"
#include "intake.h"
#include "log.h"
#include "parse-util.h"
#include "tiers.h"
#include "time-constants.h"

/* Device-dax instances: read them, ask the policy, convert the ones it wants as system RAM. Their
 * blocks then arrive as ordinary memory blocks, and handle_block() gives them the device's rule. */

int device_table_new(Sysfs *s, DeviceTable **ret)
{
        DeviceTable *t;

        assert(s);
        assert(ret);

        t = calloc(1, sizeof(DeviceTable));
        if (!t)
                return -ENOMEM;
        /* libdaxctl and libcxl read /sys themselves: with another root they would see the wrong tree. */
        t->dax_possible = streq(sysfs_root(s), "/sys");
        *ret = t;
        return 0;
}

DeviceTable *device_table_free(DeviceTable *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                dax_device_free(t->list[i].dax);
        free(t->list);
        free(t);
        return NULL;
}

Device *devices_find(Manager *m, const char *name)
{
        assert(m);
        assert(name);

        for (size_t i = 0; i < m->devices->n; i++)
                if (streq(m->devices->list[i].dax->name, name))
                        return &m->devices->list[i];
        return NULL;
}

Device *devices_owner_of_block(Manager *m, unsigned index)
{
        uint64_t start;

        assert(m);

        start = (uint64_t)index * m->block_size;

        for (size_t i = 0; i < m->devices->n; i++) {
                const DaxDevice *x = m->devices->list[i].dax;

                /* Memory in a pending device's range is its own, being added by the kernel's kmem
                 * bind: that it is not bound yet in what we read only means we read too early. */
                if ((x->driver == DAX_DRIVER_KMEM || m->devices->list[i].pending) && start >= x->resource &&
                    start < x->resource + x->size)
                        return &m->devices->list[i];
        }
        return NULL;
}

/* The block indices [*ret_first, *ret_end) that the device's memory spans. */
void device_block_span(const Manager *m, const Device *d, uint64_t *ret_first, uint64_t *ret_end)
{
        assert(m);
        assert(d);
        assert(ret_first);
        assert(ret_end);

        *ret_first = d->dax->resource / m->block_size;
        *ret_end = (d->dax->resource + d->dax->size + m->block_size - 1) / m->block_size;
}

int devices_blocks(Manager *m, const Device *d, unsigned **ret, size_t *ret_n)
{
        uint64_t first, end;
        unsigned *l;
        size_t n = 0;

        assert(m);
        assert(d);
        assert(ret);
        assert(ret_n);

        device_block_span(m, d, &first, &end);
        l = calloc(end - first + 1, sizeof(unsigned));
        if (!l)
                return -ENOMEM;
        for (uint64_t i = first; i < end && i < m->n_blocks; i++)
                if (block_known(&m->blocks[i]))
                        l[n++] = (unsigned)i;
        *ret = l;
        *ret_n = n;
        return 0;
}

void devices_tally_blocks(Manager *m, const Device *d, DaxBlockTally *ret)
{
        uint64_t first, end;

        assert(m);
        assert(d);
        assert(ret);

        device_block_span(m, d, &first, &end);
        *ret = (DaxBlockTally){};
        for (uint64_t i = first; i < end && i < m->n_blocks; i++) {
                const Block *b = &m->blocks[i];

                if (!block_known(b))
                        continue;
                ret->present++;
                if (b->state != BLOCK_ONLINE)
                        continue;
                ret->online++;
                ret->normal += (b->zone & ZONES_KERNEL) != 0;
                ret->movable += b->zone == ZONE_MOVABLE;
        }
}

void devices_count_blocks(Manager *m, const Device *d, unsigned *ret_online, unsigned *ret_total)
{
        DaxBlockTally t;

        assert(m);
        assert(d);
        assert(ret_online);
        assert(ret_total);

        devices_tally_blocks(m, d, &t);
        *ret_online = t.online;
        *ret_total = t.present;
}

/* The whole device goes into one zone: the first block's sets it for the rest. */
void devices_block_zone(Manager *m, Device *d, Zone zone)
{
        assert(m);
        assert(d);

        if (d->zone == 0 && zone != 0)
                d->zone = zone;
}

int device_read(Manager *m, const char *name, DaxDevice **ret)
{
        _cleanup_(dax_device_freep) DaxDevice *x = NULL;
        const char *attr = NULL;
        int r;

        assert(m);
        assert(name);
        assert(ret);

        r = dax_device_read(m->sysfs, name, &x, &attr);
        if (r < 0)
                return log_warning_errno(r, "%s: Failed to read %s%s, skipping device: %m", name,
                                         strna(attr), r == -EBADMSG ? " (unexpected value)" : "");

        /* The serials behind a CXL region come from libcxl, which reads the real /sys. */
        if (x->cxl_region && m->devices->dax_possible) {
                r = cxl_region_serials(x->cxl_region, &x->cxl_serials, &x->n_cxl_serials);
                if (r < 0)
                        log_debug_errno(r, "%s: Failed to resolve %s through libcxl, no serial to match: %m",
                                        name, x->cxl_region);
        }
        *ret = TAKE_PTR(x);
        return 0;
}

/* The target node's memory tier and whether it has CPUs, for MatchMemoryTier= and MatchNodeCPUs=. */
static void node_facts(Manager *m, DaxFacts *f)
{
        _cleanup_(freep) int *tiers = NULL;
        int r;

        f->target_tier = f->target_cpus = -1;
        if (f->target_node < 0 || f->target_node >= NODES_MAX)
                return;
        r = tiers_node_has_cpus(m->sysfs, f->target_node);
        f->target_cpus = r < 0 ? -1 : r;
        tiers = malloc(NODES_MAX * sizeof(int));
        if (tiers && tiers_read(m->sysfs, tiers) >= 0)
                f->target_tier = tiers[f->target_node];
}

void device_decide(Manager *m, Device *d)
{
        DaxFacts f;

        assert(m);
        assert(d);

        dax_device_facts(d->dax, dax_memmap_global(m->sysfs), &f);
        node_facts(m, &f);
        dax_policy_decide(m->config, &f, &d->decision);
        /* Returned to devdax over D-Bus: device_act() leaves it, so say that, not what the rule
         * would do. */
        if (d->user_devdax && d->dax->driver != DAX_DRIVER_KMEM &&
            d->decision.action == DAX_ACTION_CONVERT) {
                d->decision.action = DAX_ACTION_LEAVE;
                snprintf(d->decision.reason, sizeof(d->decision.reason),
                         "returned to devdax on request; %s would convert it", d->decision.rule);
        }
        if (d->rebind_failed && d->decision.action == DAX_ACTION_REBIND) {
                d->decision.action = DAX_ACTION_NONE;
                snprintf(d->decision.reason, sizeof(d->decision.reason),
                         "system-ram; %s MemmapOnMemory=%s could not be applied; blocks: "
                         "%s Online=%s",
                         d->decision.rule, d->decision.memmap_value ? "yes" : "no", d->decision.rule,
                         online_type_to_string(d->decision.online));
        }
}

static Device *device_add(Manager *m, DaxDevice *x)
{
        DeviceTable *t = m->devices;
        Device *l;

        l = realloc(t->list, (t->n + 1) * sizeof(Device));
        if (!l)
                return NULL;
        t->list = l;
        t->list[t->n] = (Device){ .dax = x };
        return &t->list[t->n++];
}

static void device_remove(Manager *m, Device *d)
{
        DeviceTable *t = m->devices;
        size_t i = d - t->list;

        device_unplugged_forget(m, d);
        dax_device_free(d->dax);
        memmove(t->list + i, t->list + i + 1, (t->n - i - 1) * sizeof(Device));
        t->n--;
        manager_mark_dirty(m, DIRTY_DEVICES);
}

/* A device announced by "add" may not have its driver yet (device_dax probes right after): look
 * again shortly rather than race the kernel's own bind. */
#define DRIVER_WAIT_TRIES 10

static int handle_device(Manager *m, const char *name, bool from_event, unsigned tries);

typedef struct DriverWait {
        Manager *manager;
        char *name;
        unsigned tries;
} DriverWait;

static void driver_wait_free(void *p)
{
        DriverWait *w = p;

        free(w->name);
        free(w);
}

static int on_driver_wait(void *userdata)
{
        DriverWait *w = userdata;
        Device *d = devices_find(w->manager, w->name);

        /* Not pending any more: its bind uevent came first, or it was removed. */
        if (d && d->pending)
                (void)handle_device(w->manager, w->name, true, w->tries);
        return 0;
}

static int driver_wait(Manager *m, const char *name, unsigned tries)
{
        DriverWait *w;
        int r;

        w = calloc(1, sizeof(DriverWait));
        if (!w)
                return -ENOMEM;
        *w = (DriverWait){ .manager = m, .name = strdup(name), .tries = tries };
        if (!w->name) {
                free(w);
                return -ENOMEM;
        }
        r = event_add_later(m->event, "dax-driver-wait", DRIVER_WAIT_USEC, on_driver_wait, w,
                            driver_wait_free);
        if (r < 0)
                driver_wait_free(w);
        return r;
}

/* Its blocks were left for the device's decision: decide them now that there is one. */
void device_reconsider_blocks(Manager *m, const Device *d)
{
        _cleanup_(freep) unsigned *l = NULL;
        size_t n;

        assert(m);
        assert(d);

        if (devices_blocks(m, d, &l, &n) < 0) {
                log_oom();
                return;
        }
        intake_reconsider(m->intake, l, n);
}

static int handle_device(Manager *m, const char *name, bool from_event, unsigned tries)
{
        bool was_pending;
        DaxDevice *x;
        Device *d;
        int r;

        r = device_read(m, name, &x);
        if (r < 0)
                return r;

        d = devices_find(m, name);
        if (d) {
                dax_device_free(d->dax);
                d->dax = x;
        } else {
                d = device_add(m, x);
                if (!d) {
                        dax_device_free(x);
                        return log_oom();
                }
                device_unplugged_load(m, d);
        }
        /* A device announced by "add" may not have its driver yet: the kernel binds one (kmem for
         * CXL regions, adding its blocks) right after. Look again shortly rather than race it. */
        was_pending = d->pending;
        d->pending = from_event && x->driver == DAX_DRIVER_NONE && tries < DRIVER_WAIT_TRIES &&
                     driver_wait(m, name, tries + 1) >= 0;
        device_decide(m, d);
        manager_mark_dirty(m, DIRTY_DEVICES);
        if (d->pending)
                return 0;
        r = device_act(m, d);
        if (was_pending)
                device_reconsider_blocks(m, d);
        return r;
}

int devices_scan(Manager *m)
{
        _cleanup_(strv_freep) char **names = NULL;
        int r;

        assert(m);

        r = dax_enumerate(m->sysfs, &names);
        if (r < 0)
                return log_warning_errno(r, "Failed to list dax devices, ignoring: %m");

        /* Devices that vanished while we were not listening. */
        for (size_t i = m->devices->n; i > 0; i--) {
                bool present = false;

                for (char **p = names; *p && !present; p++)
                        present = streq(*p, m->devices->list[i - 1].dax->name);
                if (!present)
                        device_remove(m, &m->devices->list[i - 1]);
        }
        for (char **p = names; *p; p++)
                if (!devices_find(m, *p))
                        (void)handle_device(m, *p, false, 0);
        return 0;
}

void devices_reconsider(Manager *m)
{
        assert(m);

        for (size_t i = 0; i < m->devices->n; i++) {
                device_decide(m, &m->devices->list[i]);
                (void)device_act(m, &m->devices->list[i]);
        }
        (void)devices_scan(m);
        /* Whatever happened to the devices since, their state files are read again. */
        devices_hotplug_touch_all(m);
}

void devices_on_uevent(Manager *m, const char *action, const char *sysname)
{
        Device *d;
        DaxDevice *x;

        assert(m);
        assert(action);
        assert(sysname);

        d = devices_find(m, sysname);

        if (strncmp(sysname, "dax", 3) != 0 || strchr(sysname, '.') == NULL)
                return; /* dax_regionN and the like */

        if (streq(action, "remove")) {
                if (d) {
                        log_device(LOG_INFO, 0, NULL, d, "Removed");
                        device_remove(m, d);
                }
                return;
        }
        if (!d) {
                (void)handle_device(m, sysname, true, 0);
                return;
        }
        if (d->pending) {
                /* The kernel's own bind, which the device was waiting for. */
                (void)handle_device(m, sysname, false, 0);
                return;
        }
        /* bind, unbind, change: someone (or we) changed its driver. Follow, don't act. */
        if (device_read(m, sysname, &x) >= 0) {
                dax_device_free(d->dax);
                d->dax = x;
                device_decide(m, d);
                manager_mark_dirty(m, DIRTY_DEVICES);
        }
}

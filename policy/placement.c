/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format-util.h"
#include "placement.h"

typedef PlacementCheck Check;

void placement_zones_sum(const PlacementFacts *f, PlacementZones *ret)
{
        assert(f);
        assert(ret);

        *ret = (PlacementZones){};
        for (size_t i = 0; i < f->n_nodes; i++) {
                ret->kernel_early += f->nodes[i].kernel_early;
                ret->kernel += f->nodes[i].kernel;
                ret->movable += f->nodes[i].movable;
                ret->movable_memmap += f->nodes[i].movable_memmap;
        }
}

static PlacementZones zones_of(const PlacementFacts *f, int node)
{
        PlacementZones z = {};

        if (node < 0)
                placement_zones_sum(f, &z);
        else if ((size_t)node < f->n_nodes)
                z = f->nodes[node];
        return z;
}

/* The kernel's auto_movable_can_online_movable(): whether nr_pages more movable memory keep
 * movable <= ratio% of the boot kernel memory. Each dynamic group (virtio-mem) other than the one
 * asked about first takes the boot kernel memory its own movable memory needs, less what its own
 * kernel memory covers; the group asked about may count its own kernel memory. */
static void check_ratio(const PlacementFacts *f, int node, unsigned ratio, const PlacementGroup *group,
                        uint64_t nr_pages, Check *ret)
{
        PlacementZones z = zones_of(f, node);
        uint64_t dynamic_movable = 0;

        *ret = (Check){ .node = node, .ratio = ratio };
        ret->kernel = z.kernel_early;
        ret->movable = z.movable > z.movable_memmap ? z.movable - z.movable_memmap : 0;
        for (size_t i = 0; i < f->n_groups; i++) {
                const PlacementGroup *g = &f->groups[i];
                uint64_t movable, need;

                if (!g->dynamic || g == group || (node >= 0 && g->node != node))
                        continue;
                movable =
                        g->present_movable > g->memmap_movable ? g->present_movable - g->memmap_movable : 0;
                need = ratio ? movable * 100 / ratio : 0;
                if (need > g->present_kernel)
                        ret->reserved += need - g->present_kernel;
                dynamic_movable += movable;
        }
        if (ret->kernel <= ret->reserved) {
                ret->movable += nr_pages;
                ret->kernel = 0;
                return;
        }
        ret->kernel -= ret->reserved;
        /* Facts read at different moments may disagree by a block; never wrap around. */
        ret->movable = ret->movable > dynamic_movable ? ret->movable - dynamic_movable : 0;
        if (group && group->dynamic)
                ret->kernel += group->present_kernel;
        ret->movable += nr_pages;
        ret->ok = ret->movable <= (uint64_t)ratio * ret->kernel / 100;
}

/* "300%", "301.5%": tenths where there are any, so that a ratio just over the limit does not
 * print as the limit. */
static void format_percent(char *buf, size_t size, uint64_t movable, uint64_t kernel)
{
        uint64_t permille;

        if (kernel == 0) {
                snprintf(buf, size, "inf");
                return;
        }
        permille = movable * 1000 / kernel;
        if (permille % 10 == 0)
                snprintf(buf, size, "%" PRIu64 "%%", permille / 10);
        else
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "%%", permille / 10, permille % 10);
}

static size_t format_check(char *buf, size_t size, const Check *c, uint64_t page_size)
{
        char where[24], m[FORMAT_BYTES_MAX], k[FORMAT_BYTES_MAX], r[FORMAT_BYTES_MAX], pct[24];
        int n;

        if (c->node < 0)
                snprintf(where, sizeof(where), "system");
        else
                snprintf(where, sizeof(where), "node %d", c->node);
        format_percent(pct, sizeof(pct), c->movable, c->kernel);
        format_bytes(m, c->movable * page_size);
        format_bytes(k, c->kernel * page_size);
        if (c->reserved > 0)
                n = snprintf(buf, size,
                             "%s: movable %s / kernel %s (after %s backing virtio-mem) = %s %s %u%%", where,
                             m, k, format_bytes(r, c->reserved * page_size), pct, c->ok ? "<=" : ">",
                             c->ratio);
        else
                n = snprintf(buf, size, "%s: movable %s / kernel %s = %s %s %u%%", where, m, k, pct,
                             c->ok ? "<=" : ">", c->ratio);
        return n < 0 ? 0 : (size_t)n;
}

static void format_subject(char *buf, size_t size, const PlacementResult *r)
{
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], note[64] = "";

        if (r->memmap > 0)
                snprintf(note, sizeof(note), ", its memmap %s on the device not counted",
                         format_bytes(b, r->memmap * r->page_size));
        format_bytes(a, r->pages * r->page_size);
        if (!r->grouped)
                snprintf(buf, size, "block of no group (%s%s)", a, note);
        else if (r->dynamic)
                snprintf(buf, size, "%s unit (%s%s)", r->group, a, note);
        else
                snprintf(buf, size, "group %s (%s%s)", r->group, a, note);
}

void placement_result_format(const PlacementResult *r, char *buf, size_t size)
{
        char subject[128];
        size_t len;

        assert(r);
        assert(buf);

        if (size > PLACEMENT_REASON_MAX)
                size = PLACEMENT_REASON_MAX;
        switch (r->basis) {
        case PLACEMENT_GROUP_IN_KERNEL:
                snprintf(buf, size, "group %s has memory in a kernel zone -> kernel zone", r->group);
                return;
        case PLACEMENT_UNIT_IN_KERNEL:
                snprintf(buf, size, "%s unit has memory in a kernel zone -> kernel zone", r->group);
                return;
        case PLACEMENT_RATIO_ZERO:
                format_subject(subject, sizeof(subject), r);
                snprintf(buf, size, "%s: MovableRatio=0 -> kernel zone", subject);
                return;
        case PLACEMENT_CHECKED:
                break;
        }
        format_subject(subject, sizeof(subject), r);
        len = (size_t)snprintf(buf, size, "%s: ", subject);
        for (size_t i = 0; i < r->n_checks && len < size; i++) {
                if (i > 0)
                        len += (size_t)snprintf(buf + len, size - len, ", ");
                if (len < size)
                        len += format_check(buf + len, size - len, &r->checks[i], r->page_size);
        }
        if (len < size)
                snprintf(buf + len, size - len, " -> %s", r->movable ? "Movable" : "kernel zone");
}

static bool checks_equal(const PlacementCheck *a, const PlacementCheck *b)
{
        return a->node == b->node && a->ratio == b->ratio && a->movable == b->movable &&
               a->kernel == b->kernel && a->reserved == b->reserved && a->ok == b->ok;
}

bool placement_result_same_group(const PlacementResult *a, const PlacementResult *b)
{
        assert(a);
        assert(b);

        if (a->movable != b->movable || a->basis != b->basis || a->grouped != b->grouped ||
            a->dynamic != b->dynamic || strcmp(a->group, b->group) != 0 || a->page_size != b->page_size ||
            a->n_checks != b->n_checks)
                return false;
        for (unsigned i = 0; i < a->n_checks; i++)
                if (!checks_equal(&a->checks[i], &b->checks[i]))
                        return false;
        return true;
}

bool placement_result_equal(const PlacementResult *a, const PlacementResult *b)
{
        assert(a);
        assert(b);

        return placement_result_same_group(a, b) && a->pages == b->pages && a->memmap == b->memmap;
}

void placement_decide(const PlacementFacts *f, const PlacementParams *p, const PlacementRequest *q,
                      PlacementResult *ret)
{
        const PlacementGroup *g;
        uint64_t max_pages, online_pages = 0, memmap, pages;

        assert(f);
        assert(p);
        assert(q);
        assert(ret);

        g = q->group;
        *ret = (PlacementResult){ .page_size = f->page_size };
        if (g) {
                snprintf(ret->group, sizeof(ret->group), "%s", g->name);
                ret->grouped = true;
                ret->dynamic = g->dynamic;
        }

        /* The pages still to be onlined, as the kernel counts them: all that remains of a static
         * group, of a dynamic group's unit, or the block. A group with anything in a kernel zone
         * follows it there, so that a device is never split across zones. */
        if (g && !g->dynamic) {
                max_pages = g->max_pages;
                online_pages = g->present_movable;
                memmap = g->memmap_pages > g->memmap_movable ? g->memmap_pages - g->memmap_movable : 0;
                if (g->present_kernel > 0) {
                        if (g->decided) {
                                *ret = *g->decided;
                                ret->movable = false;
                        } else
                                ret->basis = PLACEMENT_GROUP_IN_KERNEL;
                        return;
                }
        } else if (!g || g->max_pages == q->nr_pages) {
                max_pages = q->nr_pages;
                memmap = q->memmap_pages;
        } else {
                max_pages = g->max_pages;
                online_pages = q->unit_online_pages;
                memmap = g->memmap_pages * (max_pages - online_pages) / max_pages;
                if (q->unit_has_kernel) {
                        ret->basis = PLACEMENT_UNIT_IN_KERNEL;
                        return;
                }
        }
        pages = max_pages > online_pages ? max_pages - online_pages : 0;
        ret->pages = pages;
        ret->memmap = memmap;

        if (p->ratio == 0) {
                ret->basis = PLACEMENT_RATIO_ZERO;
                return;
        }
        check_ratio(f, -1, p->ratio, g, pages - memmap, &ret->checks[ret->n_checks]);
        if (!ret->checks[ret->n_checks++].ok)
                return;
        if (p->numa_aware && q->node >= 0) {
                check_ratio(f, q->node, p->node_ratio, g, pages - memmap, &ret->checks[ret->n_checks]);
                if (!ret->checks[ret->n_checks++].ok)
                        return;
        }
        ret->movable = true;
}

void placement_counted(const PlacementFacts *f, int node, unsigned ratio, PlacementCheck *ret)
{
        assert(f);
        assert(ret);

        check_ratio(f, node, ratio, NULL, 0, ret);
}

static uint64_t headroom_of(const PlacementFacts *f, int node, unsigned ratio)
{
        Check c;
        uint64_t limit;

        placement_counted(f, node, ratio, &c);
        limit = (uint64_t)ratio * c.kernel / 100;
        return limit > c.movable ? limit - c.movable : 0;
}

uint64_t placement_headroom(const PlacementFacts *f, const PlacementParams *p, int node)
{
        uint64_t system, local;

        assert(f);
        assert(p);

        system = headroom_of(f, -1, p->ratio);
        if (node < 0 || !p->numa_aware)
                return system;
        local = headroom_of(f, node, p->node_ratio);
        return local < system ? local : system;
}

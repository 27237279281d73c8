/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-contract.h"
#include "ctl-util.h"
#include "status-placement.h"

void status_placement_done(StatusPlacement *p)
{
        assert(p);

        free(p->rows);
        for (size_t i = 0; i < p->n_headroom; i++)
                free(p->headroom[i].reason);
        free(p->headroom);
        *p = (StatusPlacement){};
}

int status_placement_read(sd_bus_message *m, StatusPlacement *ret)
{
        NodePlacement n;
        int r;

        assert(m);
        assert(ret);

        r = sd_bus_message_enter_container(m, 'v', "a" BUS_NODE_PLACEMENT);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', BUS_NODE_PLACEMENT);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, BUS_NODE_PLACEMENT, &n.node, &n.boot_kernel, &n.kernel,
                                        &n.movable, &n.memmap, &n.headroom, &n.ratio, &n.numa_aware,
                                        &n.counted_movable, &n.counted_kernel)) > 0) {
                NodePlacement *l = realloc(ret->rows, (ret->n_rows + 1) * sizeof(NodePlacement));

                if (!l)
                        return -ENOMEM;
                ret->rows = l;
                ret->rows[ret->n_rows++] = n;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int status_headroom_read(sd_bus_message *m, StatusPlacement *ret)
{
        NodeHeadroom h;
        const char *reason;
        int r;

        assert(m);
        assert(ret);

        r = sd_bus_message_enter_container(m, 'v', "a" BUS_HOTADD_HEADROOM);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', BUS_HOTADD_HEADROOM);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, BUS_HOTADD_HEADROOM, &h.node, &h.free, &h.reserve, &h.struct_page,
                                        &h.page_size, &h.headroom, &h.movable, &h.memmap_on_memory,
                                        &reason)) > 0) {
                NodeHeadroom *l = realloc(ret->headroom, (ret->n_headroom + 1) * sizeof(NodeHeadroom));

                if (!l)
                        return -ENOMEM;
                ret->headroom = l;
                h.reason = strdup(reason);
                if (!h.reason)
                        return -ENOMEM;
                ret->headroom[ret->n_headroom++] = h;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* The ratio the kernel's rule compares, whose rest is the headroom: movable memory without its own
 * memmap and without virtio-mem devices' (their own kernel memory, then boot memory, backs it), over
 * the boot kernel memory left after what those devices need. Movable over boot kernel memory would
 * count a device's movable memory against the boot memory and print a ratio far past the limit next
 * to a headroom that says there is room. */
static void format_ratio(char *buf, size_t size, const NodePlacement *n)
{
        if (n->counted_kernel == 0)
                snprintf(buf, size, "%s", n->counted_movable ? "no boot kernel memory left" : "0%");
        else
                snprintf(buf, size, "%" PRIu64 "%%", n->counted_movable * 100 / n->counted_kernel);
}

void status_placement_print(const StatusPlacement *p,
                            void (*field)(const char *label, const char *format, ...))
{
        assert(p);
        assert(field);

        for (size_t i = 0; i < p->n_rows; i++) {
                const NodePlacement *n = &p->rows[i];
                char k[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], mv[FORMAT_BYTES_MAX], mm[FORMAT_BYTES_MAX];
                char h[FORMAT_BYTES_MAX], label[32], where[32], ratio[32];
                uint64_t own = n->movable - (n->memmap < n->movable ? n->memmap : n->movable);

                if (n->node < 0) {
                        snprintf(label, sizeof(label), "Placement");
                        snprintf(where, sizeof(where), "in the system");
                } else {
                        snprintf(label, sizeof(label), "Placement node %" PRIi32, n->node);
                        snprintf(where, sizeof(where), "on node %" PRIi32, n->node);
                }
                format_ratio(ratio, sizeof(ratio), n);
                field(label, "kernel %s (boot %s), movable %s (memmap on device %s): %s of %" PRIu32 "%%%s",
                      format_bytes(k, n->kernel), format_bytes(b, n->boot_kernel),
                      format_bytes(mv, n->movable), format_bytes(mm, n->memmap), ratio, n->ratio,
                      n->node >= 0 && !n->numa_aware ? " (NumaAware=no: not checked)" : "");
                if (n->counted_movable != own || n->counted_kernel != n->boot_kernel)
                        field(NULL,
                              "the kernel compares movable %s / kernel %s: virtio-mem devices' movable "
                              "memory "
                              "is backed by their own kernel memory and %s of boot memory",
                              format_bytes(mv, n->counted_movable), format_bytes(k, n->counted_kernel),
                              format_bytes(b, n->boot_kernel > n->counted_kernel
                                                      ? n->boot_kernel - n->counted_kernel
                                                      : 0));
                field(NULL, "another %s may go movable %s", format_bytes(h, n->headroom), where);
        }
        for (size_t i = 0; i < p->n_headroom; i++) {
                const NodeHeadroom *n = &p->headroom[i];
                char h[FORMAT_BYTES_MAX], mv[FORMAT_BYTES_MAX], label[32];

                if (n->node < 0)
                        snprintf(label, sizeof(label), "Headroom");
                else
                        snprintf(label, sizeof(label), "Headroom node %" PRIi32, n->node);
                field(label, "a hot-add of up to %s is safe now (%s of it movable)",
                      n->headroom == UINT64_MAX ? "any size" : format_bytes(h, n->headroom),
                      format_bytes(mv, n->movable));
                field(NULL, "%s", n->reason);
        }
}

/* "Node": the node's number, null for the system's row. */
static void json_node(JsonWriter *w, int32_t node)
{
        json_key(w, "Node");
        if (node < 0)
                json_null(w);
        else
                json_signed(w, node);
}

void status_placement_json(const StatusPlacement *p, JsonWriter *w)
{
        assert(p);
        assert(w);

        json_key(w, "NodePlacement");
        json_begin_array(w);
        for (size_t i = 0; i < p->n_rows; i++) {
                const NodePlacement *n = &p->rows[i];

                json_begin_object(w);
                json_node(w, n->node);
                json_field_unsigned(w, "BootKernelBytes", n->boot_kernel);
                json_field_unsigned(w, "KernelBytes", n->kernel);
                json_field_unsigned(w, "MovableBytes", n->movable);
                json_field_unsigned(w, "MemmapOnDeviceBytes", n->memmap);
                json_field_unsigned(w, "HeadroomBytes", n->headroom);
                json_field_unsigned(w, "MovableRatio", n->ratio);
                json_field_unsigned(w, "CountedMovableBytes", n->counted_movable);
                json_field_unsigned(w, "CountedKernelBytes", n->counted_kernel);
                json_key(w, "NumaAware");
                json_bool(w, n->numa_aware);
                json_end_object(w);
        }
        json_end_array(w);

        json_key(w, "HotAddHeadroom");
        json_begin_array(w);
        for (size_t i = 0; i < p->n_headroom; i++) {
                const NodeHeadroom *n = &p->headroom[i];

                json_begin_object(w);
                json_node(w, n->node);
                json_field_unsigned(w, "FreeBytes", n->free);
                json_field_unsigned(w, "ReserveBytes", n->reserve);
                json_field_unsigned(w, "StructPageBytes", n->struct_page);
                json_field_unsigned(w, "PageSize", n->page_size);
                json_field_unsigned(w, "HeadroomBytes", n->headroom);
                json_field_unsigned(w, "MovableBytes", n->movable);
                json_key(w, "MemmapOnMemory");
                json_bool(w, n->memmap_on_memory);
                json_field_string(w, "Reason", n->reason);
                json_end_object(w);
        }
        json_end_array(w);
}

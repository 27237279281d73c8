/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* New blocks are decided in the order they came, even when the kernel links them to their node
 * while the daemon is reading them.
 *
 * The kernel announces every block of an add, then links them all to their node, in address order.
 * A daemon slower than that (a loaded machine, a sanitizer build) reads one block still unlinked
 * and the next already linked. Online=auto-movable decides each block or unit on what was decided
 * before it, as the kernel does in address order, so a later block must never be decided first.
 * Under it, a DIMM's blocks also wait for the kernel to bind them to their ACPI memory device
 * (right after their node links), so that they are decided as its group.
 *
 * The test links with -Wl,--wrap for the daemon's reads of a block and its node (from intake.c),
 * to play a kernel that links all blocks right after the daemon found one unlinked, and for
 * placement_decide_block(), to record the order of the decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "kernel-auto.h"
#include "log.h"
#include "manager.h"
#include "memblock.h"
#include "placement-facts.h"
#include "onliner.h"
#include "outcome.h"
#include "sysfs-fixture.h"
#include "tap.h"
#include "time-util.h"

int __real_memblock_read(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr);
int __wrap_memblock_read(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr);
int __real_memblock_read_node(Sysfs *s, unsigned index, int *ret);
int __wrap_memblock_read_node(Sysfs *s, unsigned index, int *ret);
int __real_placement_decide_block(Manager *m, unsigned index, const BlockFacts *f, OnlineType type,
                                  const char *rule, Decision *ret);
int __wrap_placement_decide_block(Manager *m, unsigned index, const BlockFacts *f, OnlineType type,
                                  const char *rule, Decision *ret);

#define MAX_BLOCKS 16

/* The blocks of the add being played, and whether the kernel links the rest of them right after
 * the daemon's next read of one that has no link yet. */
static unsigned add_first, add_n, linked;
static bool link_on_unlinked_read;
static unsigned decided[MAX_BLOCKS], n_decided;
static unsigned node_reads; /* intake's reads of one block's node link */
static char reasons[MAX_BLOCKS][sizeof(((Decision *)0)->reason)];

static void link_rest(void)
{
        for (; linked < add_n; linked++)
                fixture_link_node(add_first + linked);
}

static void after_read(int r, int node)
{
        if (r >= 0 && node < 0 && link_on_unlinked_read) {
                link_on_unlinked_read = false;
                link_rest();
        }
}

int __wrap_memblock_read(Sysfs *s, unsigned index, int node, BlockFacts *ret, const char **ret_attr)
{
        int r = __real_memblock_read(s, index, node, ret, ret_attr);

        after_read(r, r >= 0 ? ret->node : 0);
        return r;
}

int __wrap_memblock_read_node(Sysfs *s, unsigned index, int *ret)
{
        int r = __real_memblock_read_node(s, index, ret);

        node_reads++;
        after_read(r, r >= 0 ? *ret : 0);
        return r;
}

int __wrap_placement_decide_block(Manager *m, unsigned index, const BlockFacts *f, OnlineType type,
                                  const char *rule, Decision *ret)
{
        int r = __real_placement_decide_block(m, index, f, type, rule, ret);

        if (n_decided < MAX_BLOCKS) {
                snprintf(reasons[n_decided], sizeof(reasons[0]), "%s", ret->reason);
                decided[n_decided++] = index;
        }
        return r;
}

/* A new add of n blocks from first: announced (the daemon gets no uevent yet), not linked. */
static void add_blocks(unsigned first, unsigned n)
{
        add_first = first;
        add_n = n;
        linked = 0;
        n_decided = 0;
        for (unsigned i = 0; i < n; i++)
                fixture_make_block(first + i);
}

static void send_adds(Manager *m, unsigned first, unsigned n)
{
        char name[32];

        for (unsigned i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "memory%u", first + i);
                intake_on_uevent(m->intake, "add", name);
        }
}

/* Runs the loop until n blocks were decided, or 3 s pass. */
static void run_until_decided(Manager *m, unsigned n)
{
        for (int i = 0; i < 300 && n_decided < n; i++)
                (void)sd_event_run(m->event, 10 * 1000);
}

static bool in_order(unsigned first, unsigned n, char *buf, size_t size)
{
        bool ok = n_decided == n;
        size_t k = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < n_decided && k < size; i++) {
                ok = ok && decided[i] == first + i;
                k += (size_t)snprintf(buf + k, size - k, "%s%u", i ? "," : "", decided[i]);
        }
        return ok;
}

/* Six blocks wait for their link; the first gets it, the rest come while the daemon reads them. */
static void test_links_while_reading(void)
{
        Manager *m = NULL;
        char order[128];

        add_blocks(4, 6);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        send_adds(m, 4, 6);
        tap_ok(n_decided == 0 && intake_n_waiting(m->intake) == 6,
               "6 blocks without a link wait, none decided (%u)", n_decided);
        fixture_link_node(4);
        linked = 1;
        link_on_unlinked_read = true;
        run_until_decided(m, 6);
        tap_ok(in_order(4, 6, order, sizeof(order)), "decided in the order they came: %s", order);
        tap_is_int(intake_n_waiting(m->intake), 0, "none waits any more");
        manager_free(m);
}

/* A block whose "add" the daemon reads late, linked by then, while older blocks still wait (the
 * daemon found them unlinked a moment before): it waits behind them. Its uevent reads no link:
 * while the "add" uevents of an add come, the kernel has not linked its blocks yet. */
static void test_add_behind_waiting(void)
{
        Manager *m = NULL;
        char order[128];

        add_blocks(20, 3);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        send_adds(m, 20, 2);
        tap_ok(n_decided == 0 && intake_n_waiting(m->intake) == 2, "2 blocks without a link wait");
        link_rest(); /* the kernel linked all three before the daemon read the third's uevent */
        send_adds(m, 22, 1);
        tap_ok(n_decided == 0 && intake_n_waiting(m->intake) == 3,
               "the third, linked, waits behind the two (%u decided)", n_decided);
        run_until_decided(m, 3);
        tap_ok(in_order(20, 3, order, sizeof(order)), "decided in the order they came: %s", order);
        manager_free(m);
}

/* A DIMM's blocks, linked to their node, wait until its ACPI memory device claims them, and are
 * then one group; memory no such device claims waits only a moment. */
static void test_acpi_binding(void)
{
        Manager *m = NULL;
        char order[128];
        uint64_t t0;

        fixture_acpi_device("PNP0C80:00");
        fixture_write("memhotplugd.conf",
                      "[Daemon]\nKernelAutoOnline=respect\n[Memory]\nOnline=auto-movable\n");
        add_blocks(40, 2);
        fixture_link_node(40);
        fixture_link_node(41);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        send_adds(m, 40, 2);
        for (int i = 0; i < 20; i++)
                (void)sd_event_run(m->event, 1000);
        tap_ok(n_decided == 0 && intake_n_waiting(m->intake) == 2,
               "2 linked blocks wait while an ACPI memory device exists and has not claimed them (%u "
               "decided)",
               n_decided);
        fixture_acpi_bind("PNP0C80:00", 0, 40);
        fixture_acpi_bind("PNP0C80:00", 1, 41);
        run_until_decided(m, 2);
        tap_ok(in_order(40, 2, order, sizeof(order)), "decided once claimed, in order: %s", order);
        tap_ok(n_decided == 2 && strstr(reasons[0], "group PNP0C80:00 (256M)") &&
                       strstr(reasons[1], "group PNP0C80:00"),
               "one group, the device's: \"%s\"", n_decided ? reasons[0] : "");

        /* Memory no ACPI device claims (the probe interface, say) is decided after a moment. */
        add_blocks(44, 1);
        fixture_link_node(44);
        t0 = now_usec();
        send_adds(m, 44, 1);
        run_until_decided(m, 1);
        tap_ok(n_decided == 1 && now_usec() - t0 < 1900 * USEC_PER_MSEC,
               "a block no device claims is decided after %.0f ms, not the node link's 2 s",
               (double)(now_usec() - t0) / USEC_PER_MSEC);
        tap_ok(n_decided == 1 && strstr(reasons[0], "block of no group"), "alone: \"%s\"",
               n_decided ? reasons[0] : "");
        manager_free(m);
}

static void on_job_finished(void *userdata, const Job *job)
{
        unsigned *totals = userdata;

        if (totals[0] < 2)
                totals[1 + totals[0]] = job->total;
        totals[0]++;
}

static const OutcomeSubscriber job_subscriber = {
        .job_finished = on_job_finished,
};

/* One job per hot-add: as the queue runs dry, a block of the burst that still waited for its link
 * (linked by now) is handed on into the same job (the onliner's job_ending hook), not left for the
 * next look at the links and a job of its own. */
static void test_burst_one_job(void)
{
        unsigned totals[3] = {}; /* jobs finished, then the first two's totals */
        Manager *m = NULL;

        /* Not Online=auto-movable (test_acpi_binding()'s): a linked block waits for nothing else. */
        fixture_write("memhotplugd.conf", "[Daemon]\nKernelAutoOnline=respect\n[Memory]\nOnline=movable\n");
        add_blocks(70, 2);
        fixture_link_node(70);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        tap_ok(outcome_subscribe(m, &job_subscriber, totals) >= 0, "subscribed to the job's end");
        send_adds(m, 70, 2);
        tap_ok(onliner_queued(m->onliner) == 1 && intake_n_waiting(m->intake) == 1,
               "the linked block is queued, the other waits for its link");
        fixture_link_node(71);
        for (int i = 0; i < 300 && totals[0] == 0; i++)
                (void)sd_event_run(m->event, 10 * 1000);
        tap_ok(totals[0] == 1 && totals[1] == 2, "one job of both blocks (%u jobs, the first of %u)",
               totals[0], totals[1]);
        manager_free(m);
}

/* KernelAutoOnline=delegate: the monitor's batching is the one wait for a quiet burst. Once a batch
 * is read, a block's "add" and the "online" of the kernel that onlined it are handled as they
 * come: recorded at once, not held for another quiet spell. */
static void test_delegate_no_second_wait(void)
{
        Manager *m = NULL;
        const Block *b;

        add_blocks(60, 1);
        fixture_link_node(60);
        fixture_write("devices/system/memory/memory60/state", "online\n");
        fixture_write("devices/system/memory/memory60/valid_zones", "Normal\n");
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        m->kernel->auto_mode = KERNEL_AUTO_ONLINE_DELEGATE;
        intake_set_delegate(m->intake, true);
        send_adds(m, 60, 1);
        intake_on_uevent(m->intake, "online", "memory60");
        b = m->n_blocks > 60 ? &m->blocks[60] : NULL;
        tap_ok(n_decided == 1, "the add is decided as it is read, without the loop running (%u decided)",
               n_decided);
        tap_ok(b && block_known(b) && b->state == BLOCK_ONLINE && b->zone == ZONE_NORMAL,
               "the block the kernel onlined is recorded online in Normal");
        tap_ok(b && b->life != BLOCK_LIFE_QUEUED && onliner_queued(m->onliner) == 0, "and not queued");
        manager_free(m);
}

/* A large add: once the oldest block has its link, the node's directory is listed once for all
 * the blocks behind it, instead of each block's own directory being read; their order holds. */
static void test_node_listed_once(void)
{
        Manager *m = NULL;
        char order[128];

        add_blocks(100, 12);
        tap_ok(fixture_new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        send_adds(m, 100, 12);
        tap_ok(n_decided == 0 && intake_n_waiting(m->intake) == 12, "12 blocks without a link wait");
        link_rest();
        node_reads = 0;
        run_until_decided(m, 12);
        tap_ok(in_order(100, 12, order, sizeof(order)), "decided in the order they came: %s", order);
        tap_ok(node_reads == 1, "one block's link read, the rest from the node's listing (%u reads)",
               node_reads);
        tap_ok(m->n_blocks > 111 && m->blocks[100].node == 0 && m->blocks[111].node == 0,
               "the first and the last on node 0");
        manager_free(m);
}

int main(void)
{
        fixture_setup(true, "[Daemon]\nKernelAutoOnline=respect\n[Memory]\nOnline=movable\n");
        log_open(LOG_TARGET_STDERR);

        test_links_while_reading();
        test_add_behind_waiting();
        test_acpi_binding();
        test_delegate_no_second_wait();
        test_burst_one_job();
        test_node_listed_once();

        fixture_cleanup();
        printf("1..%u\n", tap_n);
        return tap_failed > 0;
}

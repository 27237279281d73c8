/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <syslog.h>

#include "memtypes.h"
#include <string.h>

#include "parse-util.h"
#include "tap.h"

static void test_boolean(void)
{
        bool b = false;

        tap_ok(parse_boolean("yes", &b) == 0 && b, "boolean: yes");
        tap_ok(parse_boolean("OFF", &b) == 0 && !b, "boolean: OFF");
        tap_ok(parse_boolean("1", &b) == 0 && b, "boolean: 1");
        tap_is_int(parse_boolean("maybe", &b), -EINVAL, "boolean: maybe is refused");
        tap_is_int(parse_boolean("", &b), -EINVAL, "boolean: empty is refused");
}

static void test_unsigned(void)
{
        unsigned u = 7;

        tap_ok(parse_unsigned("64", 1, 100, &u) == 0 && u == 64, "unsigned: 64");
        tap_is_int(parse_unsigned("0", 1, 100, &u), -ERANGE, "unsigned: below range");
        tap_is_int(parse_unsigned("101", 1, 100, &u), -ERANGE, "unsigned: above range");
        tap_is_int(parse_unsigned("-1", 0, 100, &u), -EINVAL, "unsigned: negative is refused, not wrapped");
        tap_is_int(parse_unsigned(" 5", 0, 100, &u), -EINVAL, "unsigned: leading blank is refused");
        tap_is_int(parse_unsigned("5x", 0, 100, &u), -EINVAL, "unsigned: trailing garbage is refused");
        tap_is_int(parse_unsigned("99999999999999999999999", 0, 100, &u), -ERANGE, "unsigned: overflow");
        tap_is_int(u, 64, "unsigned: failures leave the value alone");
}

static void test_sec(void)
{
        uint64_t t = 0;

        tap_ok(parse_sec("2", &t) == 0 && t == 2000000, "sec: bare number is seconds");
        tap_ok(parse_sec("0.5", &t) == 0 && t == 500000, "sec: fraction");
        tap_ok(parse_sec("200ms", &t) == 0 && t == 200000, "sec: ms");
        tap_ok(parse_sec("1min", &t) == 0 && t == 60000000, "sec: min");
        tap_ok(parse_sec("0", &t) == 0 && t == 0, "sec: zero");
        tap_is_int(parse_sec("1 hour", &t), -EINVAL, "sec: unknown unit");
        tap_is_int(parse_sec("-1", &t), -EINVAL, "sec: negative");
        tap_is_int(parse_sec("", &t), -EINVAL, "sec: empty");
}

/* One decimal grammar: no octal, hex, exponents, hex floats, blanks or signs. */
static void test_strict_numbers(void)
{
        uint64_t t = 7, lo = 0, hi = 0;
        unsigned u = 7;

        tap_is_int(parse_sec("1e3", &t), -EINVAL, "sec: 1e3 (an exponent) is refused");
        tap_is_int(parse_sec("0x1p4", &t), -EINVAL, "sec: 0x1p4 (a hex float) is refused");
        tap_is_int(parse_sec("0x10", &t), -EINVAL, "sec: 0x10 is refused");
        tap_is_int(parse_sec("inf", &t), -EINVAL, "sec: inf is refused");
        tap_is_int(parse_sec("1.", &t), -EINVAL, "sec: a dot without digits after it is refused");
        tap_is_int(parse_sec(".5", &t), -EINVAL, "sec: a dot without digits before it is refused");
        tap_is_int(parse_sec("1.2.3", &t), -EINVAL, "sec: two dots are refused");
        tap_is_int(parse_sec(" 1", &t), -EINVAL, "sec: a leading blank is refused");
        tap_is_int(parse_sec("+1", &t), -EINVAL, "sec: a sign is refused");
        tap_is_int(parse_sec("1 s", &t), -EINVAL, "sec: a blank before the unit is refused");
        tap_is_int(parse_sec("99999999999999999999", &t), -ERANGE, "sec: digits that overflow");
        tap_is_int(parse_sec("18446744073709551615min", &t), -ERANGE, "sec: a unit that overflows");
        tap_is_int(t, 7, "sec: failures leave the value alone");
        tap_ok(parse_sec("1.5ms", &t) == 0 && t == 1500, "sec: 1.5ms");
        tap_ok(parse_sec("0.0000019", &t) == 0 && t == 1, "sec: below a microsecond is dropped");
        tap_ok(parse_sec("010", &t) == 0 && t == 10000000, "sec: leading zeros are decimal");

        tap_is_int(parse_unsigned("0x10", 0, 100, &u), -EINVAL, "unsigned: 0x10 is refused");
        tap_is_int(parse_unsigned("1e1", 0, 100, &u), -EINVAL, "unsigned: 1e1 is refused");
        tap_ok(parse_unsigned("010", 0, 100, &u) == 0 && u == 10, "unsigned: 010 is ten, not eight");

        tap_ok(parse_size("010G", &t) == 0 && t == (UINT64_C(10) << 30), "size: 010G is 10 GiB, not octal");
        tap_is_int(parse_size("0x10G", &t), -EINVAL, "size: 0x10G is refused");
        tap_is_int(parse_size("1e3", &t), -EINVAL, "size: 1e3 is refused");
        tap_is_int(parse_size("16 G", &t), -EINVAL, "size: a blank before the unit is refused");
        tap_is_int(parse_size("-1", &t), -EINVAL, "size: a sign is refused");
        tap_is_int(parse_size("1.5G", &t), -EINVAL, "size: a fraction is refused");
        tap_is_int(parse_size("16384P", &t), -ERANGE, "size: 16 EiB overflows");
        tap_ok(parse_size("4GiB", &t) == 0 && t == (UINT64_C(4) << 30), "size: 4GiB");
        tap_ok(parse_size("1k", &t) == 0 && t == 1024, "size: 1k");
        tap_is_int(parse_size("1Gb", &t), -EINVAL, "size: 1Gb is refused");

        tap_ok(parse_size_range("010G-", &lo, &hi) == 0 && lo == (UINT64_C(10) << 30) && hi == UINT64_MAX,
               "size range: 010G- is 10 GiB and up");
        tap_is_int(parse_size_range("0x10G-", &lo, &hi), -EINVAL, "size range: 0x10G- is refused");
        tap_is_int(parse_size_range("-", &lo, &hi), -EINVAL, "size range: both ends open is refused");
        tap_is_int(parse_size_range("2G-1G", &lo, &hi), -ERANGE, "size range: min above max");
        tap_ok(parse_size_range("-64G", &lo, &hi) == 0 && lo == 0 && hi == (UINT64_C(64) << 30),
               "size range: -64G");
}

static void test_hex(void)
{
        uint64_t v = 0;

        tap_ok(parse_hex_u64("8000000", &v) == 0 && v == 0x8000000, "hex: block_size_bytes");
        tap_ok(parse_hex_u64("0x10", &v) == 0 && v == 16, "hex: 0x prefix");
        tap_ok(parse_hex_u64("0000002a", &v) == 0 && v == 42, "hex: phys_index with zeros");
        tap_is_int(parse_hex_u64("zz", &v), -EINVAL, "hex: not hex");
        tap_is_int(parse_hex_u64("", &v), -EINVAL, "hex: empty");
        tap_is_int(parse_hex_u64("0x0x10", &v), -EINVAL, "hex: one 0x only");
        tap_is_int(parse_hex_u64("0x", &v), -EINVAL, "hex: 0x alone");
        tap_is_int(parse_hex_u64("10000000000000000", &v), -ERANGE, "hex: overflow");
        tap_is_int(parse_hex_u64("-1", &v), -EINVAL, "hex: a sign is refused");
}

static void test_log_level(void)
{
        int l = -1;

        tap_ok(parse_log_level("debug", &l) == 0 && l == LOG_DEBUG, "log level: debug");
        tap_ok(parse_log_level("error", &l) == 0 && l == LOG_ERR, "log level: error alias");
        tap_is_int(parse_log_level("loud", &l), -EINVAL, "log level: unknown");
        tap_is_str(log_level_to_string(LOG_WARNING), "warning", "log level: to string");
}

static void test_sysname(void)
{
        unsigned i = 0;

        tap_ok(parse_sysname_index("memory42", "memory", UINT_MAX, &i) == 0 && i == 42, "sysname: memory42");
        tap_is_int(parse_sysname_index("memory", "memory", UINT_MAX, &i), -EINVAL, "sysname: no number");
        tap_is_int(parse_sysname_index("memory_tiers", "memory", UINT_MAX, &i), -EINVAL,
                   "sysname: memory_tiers");
        tap_is_int(parse_sysname_index("node1", "memory", UINT_MAX, &i), -EINVAL, "sysname: other prefix");
        tap_is_int(parse_sysname_index("region43", "region", 42, &i), -ERANGE, "sysname: past max");
}

/* Block and node names as they enter from sysfs and uevents: the boundaries of the bound, the
 * numbers that wrapped "index + 1", and what the kernel never writes. */
static void test_block_node_names(void)
{
        unsigned i = 7;

        tap_is_int(BLOCK_INDEX_MAX, 134217727, "block: the bound is 2^27 - 1");
        tap_ok(parse_block_name("memory0", &i) == 0 && i == 0, "block: memory0");
        tap_ok(parse_block_name("memory134217727", &i) == 0 && i == 134217727, "block: the largest valid");
        i = 7;
        tap_is_int(parse_block_name("memory134217728", &i), -ERANGE, "block: the largest valid + 1");
        tap_is_int(parse_block_name("memory4294967295", &i), -ERANGE, "block: 4294967295 (UINT_MAX)");
        tap_is_int(parse_block_name("memory4294967296", &i), -ERANGE, "block: 4294967296 (UINT_MAX + 1)");
        tap_is_int(parse_block_name("memory18446744073709551616", &i), -ERANGE, "block: 2^64");
        tap_is_int(i, 7, "block: a refused name leaves the output alone");
        tap_is_int(parse_block_name("memory042", &i), -EINVAL, "block: leading zero (aliases memory42)");
        tap_is_int(parse_block_name("memory00", &i), -EINVAL, "block: 00");
        tap_is_int(parse_block_name("memory-1", &i), -EINVAL, "block: sign");
        tap_is_int(parse_block_name("memory+1", &i), -EINVAL, "block: plus");
        tap_is_int(parse_block_name("memory 1", &i), -EINVAL, "block: blank");
        tap_is_int(parse_block_name("memory1x", &i), -EINVAL, "block: trailing text");
        tap_is_int(parse_block_name("memory0x10", &i), -EINVAL, "block: hex");
        tap_is_int(parse_block_name("memory", &i), -EINVAL, "block: no number");
        tap_is_int(parse_block_name("node1", &i), -EINVAL, "block: a node name");

        tap_ok(parse_node_name("node1023", &i) == 0 && i == 1023, "node: the largest valid (1023)");
        tap_is_int(parse_node_name("node1024", &i), -ERANGE, "node: 1024");
        tap_is_int(parse_node_name("node2147483647", &i), -ERANGE, "node: INT_MAX");
        tap_is_int(parse_node_name("node4294967295", &i), -ERANGE, "node: UINT_MAX");
        tap_is_int(parse_node_name("node01", &i), -EINVAL, "node: leading zero");
        tap_is_int(parse_node_name("memory1", &i), -EINVAL, "node: a block name");
}

static void test_zones(void)
{
        unsigned mask = 0;
        Zone first = 0;

        tap_ok(zones_from_string("Normal Movable", &mask, &first) == 0 &&
                       mask == (ZONE_NORMAL | ZONE_MOVABLE) && first == ZONE_NORMAL,
               "zones: Normal Movable");
        tap_ok(zones_from_string("Movable Normal", &mask, &first) == 0 && first == ZONE_MOVABLE,
               "zones: the first entry is the default");
        tap_ok(zones_from_string("DMA32 Normal Movable", &mask, &first) == 0 && (mask & ZONE_DMA32),
               "zones: DMA32");
        tap_ok(zones_from_string("none", &mask, &first) == 0 && mask == 0, "zones: none");
        tap_is_int(zones_from_string("Highmem", &mask, &first), -EINVAL, "zones: unknown zone");
        tap_is_int(zones_from_string("", &mask, &first), -EINVAL, "zones: empty");

        /* And back, as the bus shows a block's ValidZones from the table: the default first. */
        {
                static const char *const texts[] = { "Normal Movable", "Movable Normal",
                                                     "DMA32 Normal Movable", "Movable", "none" };
                char buf[64];

                for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                        buf[0] = '\0';
                        if (zones_from_string(texts[i], &mask, &first) == 0)
                                zones_to_string(mask, first, buf, sizeof(buf));
                        tap_ok(strcmp(buf, texts[i]) == 0, "zones: \"%s\" back to text: \"%s\"", texts[i],
                               buf);
                }
        }
        tap_is_int(zone_for_online_type(ONLINE_TYPE_KERNEL, ZONE_MOVABLE | ZONE_DMA32, ZONE_MOVABLE),
                   ZONE_DMA32, "zones: kernel picks the highest kernel zone when the default is Movable");
        tap_is_int(zone_for_online_type(ONLINE_TYPE_MOVABLE, ZONE_NORMAL, ZONE_NORMAL), 0,
                   "zones: movable impossible without Movable");
}

static void test_types(void)
{
        tap_is_int(online_type_from_string("movable"), ONLINE_TYPE_MOVABLE, "online type: movable");
        tap_is_int(online_type_from_string("online_movable"), ONLINE_TYPE_MOVABLE,
                   "online type: kernel spelling");
        tap_is_int(online_type_from_string("online_kernel"), ONLINE_TYPE_KERNEL,
                   "online type: online_kernel");
        tap_is_int(online_type_from_string("Movable"), _ONLINE_TYPE_INVALID, "online type: case matters");
        tap_is_str(online_type_to_sysfs(ONLINE_TYPE_KERNEL), "online_kernel", "online type: sysfs word");
        tap_is_int(block_state_from_string("going-offline"), BLOCK_GOING_OFFLINE, "state: going-offline");
        tap_is_int(block_state_from_string("online_movable"), _BLOCK_STATE_INVALID,
                   "state: not a read value");
}

static void test_index_list(void)
{
        bool set[8] = {};

        tap_ok(parse_index_list("0-2,5", set, 8) == 0 && set[0] && set[1] && set[2] && !set[3] && set[5] &&
                       !set[7],
               "\"0-2,5\"");
        memset(set, 0, sizeof(set));
        tap_ok(parse_index_list("", set, 8) == 0 && !set[0], "\"\": none");
        tap_is_int(parse_index_list("7", set, 8), 0, "the last index fits");
        tap_is_int(parse_index_list("8", set, 8), -ERANGE, "one past the table: -ERANGE");
        tap_is_int(parse_index_list("0-4294967295", set, 8), -ERANGE,
                   "a huge range: -ERANGE, nothing written");
        tap_is_int(parse_index_list("3-1", set, 8), -ERANGE, "a backwards range");
        tap_is_int(parse_index_list("1,", set, 8), -EINVAL, "trailing comma");
        tap_is_int(parse_index_list(",1", set, 8), -EINVAL, "leading comma");
        tap_is_int(parse_index_list("1-", set, 8), -EINVAL, "open range");
        tap_is_int(parse_index_list("x", set, 8), -EINVAL, "not a number");
}

int main(void)
{
        test_boolean();
        test_unsigned();
        test_sec();
        test_strict_numbers();
        test_hex();
        test_log_level();
        test_sysname();
        test_block_node_names();
        test_zones();
        test_types();
        test_index_list();
        return tap_done();
}

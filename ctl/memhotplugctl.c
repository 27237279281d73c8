/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block-list.h"
#include "ctl-util.h"
#include "ctl.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

/* Usage errors exit with 2, as getopt-based tools and the LSB ask; D-Bus and block failures with 1. */
#define EXIT_USAGE 2

typedef enum VerbFlags {
        VERB_JSON = 1 << 0,   /* reads: --json applies */
        VERB_BLOCKS = 1 << 1, /* takes a block list */
        VERB_ZONE = 1 << 2,   /* --zone applies */
        VERB_NO_BUS = 1 << 3,
        VERB_DEVICE = 1 << 4,  /* takes one device name */
        VERB_TARGET = 1 << 5,  /* takes one unplug target: a device or a block range */
        VERB_ALL = 1 << 6,     /* --all applies: the verb merges blocks into ranges */
        VERB_COLUMNS = 1 << 7, /* --output and --bytes apply */
        VERB_ROOT = 1 << 8,    /* --root applies: the verb reads files itself */
        VERB_COLOR = 1 << 9,   /* --color and --no-color apply */
} VerbFlags;

typedef struct Verb {
        const char *name;
        VerbFlags flags;
        int (*run)(Context *c);
} Verb;

static JsonMode arg_json = JSON_OFF;
static bool arg_all = false;
static const char *arg_output = NULL;
static bool arg_bytes = false;
static const char *arg_zone = NULL;
static ColorMode arg_color = COLOR_AUTO;
static bool arg_color_given = false;
static const char *arg_root = NULL;

static int verb_help(Context *c);

static const Verb verbs[] = {
        { "status", VERB_JSON, verb_status },
        { "list", VERB_JSON | VERB_ALL | VERB_COLUMNS, verb_list },
        { "plan", VERB_JSON | VERB_ALL, verb_plan },
        { "devices", VERB_JSON, verb_devices },
        { "map", VERB_NO_BUS | VERB_ROOT | VERB_COLOR, verb_map },
        { "metrics", 0, verb_metrics },
        { "online", VERB_BLOCKS | VERB_ZONE, verb_online },
        { "offline", VERB_BLOCKS, verb_offline },
        { "rezone", VERB_BLOCKS, verb_rezone },
        { "revert", VERB_DEVICE, verb_revert },
        { "unplug", VERB_TARGET, verb_unplug },
        { "cancel", 0, verb_cancel },
        { "reload", 0, verb_reload },
        { "rescan", 0, verb_rescan },
        { "doctor", VERB_JSON | VERB_NO_BUS | VERB_ROOT, verb_doctor },
        { "help", VERB_NO_BUS, verb_help },
};

static void help(void)
{
        printf("Usage: %s [OPTIONS] [COMMAND] [BLOCKS...]\n\n"
               "Show and control memhotplugd, the memory hotplug daemon.\n\n"
               "Commands:\n"
               "  status                 Show the daemon's state and memory totals (default)\n"
               "  list                   List memory blocks, like lsmem\n"
               "  plan                   Show what the policy would do with each offline block,\n"
               "                         and the online blocks it would put elsewhere\n"
               "  devices                List device-dax devices and their hotplug state\n"
               "  map                    Draw each node's memory: zones, states, devices\n"
               "  metrics                Print the daemon's metrics for Prometheus (text format)\n"
               "  online BLOCKS...       Online memory blocks (root)\n"
               "  offline BLOCKS...      Offline memory blocks (root)\n"
               "  rezone BLOCKS...       Move drifted blocks to the policy's zone: offline,\n"
               "                         then online (root; see plan)\n"
               "  revert DEVICE          Offline a dax device's memory, return it to devdax (root)\n"
               "  unplug TARGET          Offline a DIMM, virtio-mem or dax device, or blocks, so\n"
               "                         that it can be removed (root)\n"
               "  cancel                 Stop the offlining under way, report each block (root)\n"
               "  reload                 Reload the configuration (root)\n"
               "  rescan                 Rescan memory blocks and apply the policy (root)\n"
               "  doctor                 Check why memory does or does not come online here:\n"
               "                         kernel, command line, other agents, the daemon; each\n"
               "                         finding with its fix (exit status 1 on an error)\n\n"
               "Options:\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "     --json[=MODE]       Print JSON (status, list, plan, devices, doctor); MODE is\n"
               "                         pretty or short (default: pretty on a terminal)\n"
               "  -a --all               list, plan: one line per block, do not merge ranges\n"
               "  -o --output=LIST       list: columns to show, of RANGE,SIZE,STATE,ZONES,NODE,\n"
               "                         BLOCK,REMOVABLE,RULE,DRIFT (lsmem's names)\n"
               "  -b --bytes             list: sizes in bytes, not in human units\n"
               "  -z --zone=ZONE         online: movable (default), kernel or auto\n"
               "     --color[=WHEN]      map: colour always, never or auto (default: on a\n"
               "                         terminal, unless $NO_COLOR is set)\n"
               "     --no-color          map: letters only, the same as --color=never\n"
               "     --root=DIR          doctor: read /sys, /proc, /etc, /boot, /lib and /usr\n"
               "                         under DIR (a copy of another system, or a test tree);\n"
               "                         map: read DIR/sys instead of /sys (when memhotplugd\n"
               "                         does not run, and for the DIMMs)\n"
               "     --no-pager          Accepted for compatibility; output is never paged\n\n"
               "BLOCKS are block numbers or ranges: 5 7-9 memory12 memory16-memory19.\n"
               "TARGET is PNP0C80:NN (an ACPI memory device), virtioN, daxX.Y, N, N-M or\n"
               "0xSTART-0xEND.\n"
               "Exit status: 0 on success, 1 if a call or a block failed, 2 on a usage error.\n"
               "See memhotplugctl(1).\n",
               program_invocation_short_name);
}

static int verb_help(Context *c)
{
        help();
        return 0;
}

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_PAGER,
                ARG_COLOR,
                ARG_NO_COLOR,
                ARG_ROOT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", optional_argument, NULL, ARG_JSON },
                { "all", no_argument, NULL, 'a' },
                { "output", required_argument, NULL, 'o' },
                { "bytes", no_argument, NULL, 'b' },
                { "zone", required_argument, NULL, 'z' },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "color", optional_argument, NULL, ARG_COLOR },
                { "no-color", no_argument, NULL, ARG_NO_COLOR },
                { "root", required_argument, NULL, ARG_ROOT },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "habo:z:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("memhotplugctl %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_JSON:
                        if (!optarg)
                                arg_json = isatty(STDOUT_FILENO) ? JSON_PRETTY : JSON_SHORT;
                        else if (streq(optarg, "pretty"))
                                arg_json = JSON_PRETTY;
                        else if (streq(optarg, "short"))
                                arg_json = JSON_SHORT;
                        else {
                                log_error("Invalid --json= mode \"%s\": expected pretty or short.", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'a':
                        arg_all = true;
                        break;
                case 'o':
                        arg_output = optarg;
                        break;
                case 'b':
                        arg_bytes = true;
                        break;
                case 'z':
                        if (!streq(optarg, "movable") && !streq(optarg, "kernel") &&
                            !streq(optarg, "auto")) {
                                log_error("Invalid --zone= \"%s\": expected movable, kernel or auto.",
                                          optarg);
                                return -EINVAL;
                        }
                        arg_zone = optarg;
                        break;
                case ARG_COLOR:
                        if (!optarg || streq(optarg, "always"))
                                arg_color = COLOR_ALWAYS;
                        else if (streq(optarg, "never"))
                                arg_color = COLOR_NEVER;
                        else if (streq(optarg, "auto"))
                                arg_color = COLOR_AUTO;
                        else {
                                log_error("Invalid --color= \"%s\": expected always, never or auto.",
                                          optarg);
                                return -EINVAL;
                        }
                        arg_color_given = true;
                        break;
                case ARG_NO_COLOR:
                        arg_color = COLOR_NEVER;
                        arg_color_given = true;
                        break;
                case ARG_ROOT:
                        /* Paths are joined as ROOT + "/sys/…": no trailing slash, and "/" is none. */
                        if (*optarg != '/') {
                                log_error("Invalid --root= \"%s\": expected an absolute path.", optarg);
                                return -EINVAL;
                        }
                        for (size_t n = strlen(optarg); n > 0 && optarg[n - 1] == '/';)
                                optarg[--n] = '\0';
                        arg_root = optarg;
                        break;
                case ARG_NO_PAGER:
                        /* We never start a pager: nothing we print is longer than a screen or two,
                         * and lsmem-like output is meant for pipes. */
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        return 1;
}

static const Verb *find_verb(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* Everything a person can get wrong on the command line is found here, before the bus is touched. */
static int check_verb(const Verb *v, char **args, size_t n_args, unsigned **ret_blocks, size_t *ret_n)
{
        _cleanup_(freep) char *bad = NULL;
        int r;

        /* An option that a verb would ignore is a mistake to point out, not to go past. */
        const struct {
                bool given;
                VerbFlags flag;
                const char *option, *verbs;
        } applies[] = {
                { arg_json != JSON_OFF, VERB_JSON, "--json", "status, list, plan, devices and doctor" },
                { arg_zone, VERB_ZONE, "--zone", "online" },
                { arg_all, VERB_ALL, "--all", "list and plan" },
                { arg_output, VERB_COLUMNS, "--output", "list" },
                { arg_bytes, VERB_COLUMNS, "--bytes", "list" },
                { arg_color_given, VERB_COLOR, "--color", "map" },
                { arg_root, VERB_ROOT, "--root", "doctor and map" },
        };
        for (size_t i = 0; i < ELEMENTSOF(applies); i++)
                if (applies[i].given && !(v->flags & applies[i].flag)) {
                        log_error("%s is an option of %s, not of %s.", applies[i].option, applies[i].verbs,
                                  v->name);
                        return -EINVAL;
                }
        if (arg_output) {
                r = list_check_columns(arg_output);
                if (r < 0)
                        return r;
        }
        if (v->flags & VERB_TARGET) {
                /* The daemon knows which targets exist; it answers InvalidArgs for the rest. */
                if (n_args != 1 || !*args[0]) {
                        log_error("%s needs one target, such as \"PNP0C80:01\", \"dax0.0\" or \"32-39\".",
                                  v->name);
                        return -EINVAL;
                }
                return 0;
        }
        if (v->flags & VERB_DEVICE) {
                if (n_args != 1 || strncmp(args[0], "dax", 3) != 0) {
                        log_error("%s needs one device-dax device, such as \"dax0.0\".", v->name);
                        return -EINVAL;
                }
                return 0;
        }
        if (!(v->flags & VERB_BLOCKS)) {
                if (n_args > 0) {
                        log_error("%s takes no arguments.", v->name);
                        return -EINVAL;
                }
                return 0;
        }
        if (n_args == 0) {
                log_error("%s needs a list of memory blocks, such as \"5 7-9 memory12\".", v->name);
                return -EINVAL;
        }
        r = block_list_parse(args, n_args, ret_blocks, ret_n, &bad);
        if (r == -E2BIG)
                log_error("Too many memory blocks: at most %u in one command.", BLOCK_LIST_MAX);
        else if (r == -ENOMEM)
                log_error("Out of memory.");
        else if (r == -ERANGE)
                log_error("Invalid memory block \"%s\": a number too large or a range that runs backwards.",
                          strna(bad));
        else if (r < 0)
                log_error("Invalid memory block \"%s\": expected N, N-M or memoryN.", strna(bad));
        return r;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(freep) unsigned *blocks = NULL;
        const char *name;
        const Verb *v;
        size_t n_blocks = 0;
        Context c;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        name = optind < argc ? argv[optind] : "status";
        v = find_verb(name);
        if (!v) {
                log_error("Unknown command \"%s\". See %s --help.", name, program_invocation_short_name);
                return EXIT_USAGE;
        }
        r = check_verb(v, optind < argc ? argv + optind + 1 : NULL,
                       optind < argc ? (size_t)(argc - optind - 1) : 0, &blocks, &n_blocks);
        if (r == -ENOMEM)
                return EXIT_FAILURE;
        if (r < 0)
                return EXIT_USAGE;

        if (!(v->flags & VERB_NO_BUS)) {
                /* Honours DBUS_SYSTEM_BUS_ADDRESS, which the tests use for a private bus. */
                r = sd_bus_open_system(&bus);
                if (r < 0) {
                        log_error_errno(r, "Failed to connect to the system bus: %m");
                        return EXIT_FAILURE;
                }
                /* The daemon's error names become errnos that the verbs can act on. */
                r = sd_bus_error_add_map(bus_error_map);
                if (r < 0) {
                        log_error_errno(r, "Failed to register the D-Bus error names: %m");
                        return EXIT_FAILURE;
                }
        }

        c = (Context){
                .bus = bus,
                .json = arg_json,
                .all = arg_all,
                .output = arg_output,
                .bytes = arg_bytes,
                .root = arg_root,
                .online_type = v->flags & VERB_ZONE ? (arg_zone ?: "movable") : NULL,
                .blocks = blocks,
                .n_blocks = n_blocks,
                .device = v->flags & (VERB_DEVICE | VERB_TARGET) ? argv[optind + 1] : NULL,
                .color = arg_color,
        };
        r = v->run(&c);
        return r < 0 ? EXIT_FAILURE : r;
}

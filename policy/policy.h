/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "memtypes.h"
#include "placement.h"

/* What the daemon knows of one memory block, read from sysfs. */
typedef struct BlockFacts {
        unsigned index;      /* N of memoryN */
        uint64_t phys_index; /* phys_index, the block's first section in block units */
        int node;            /* -1 when the kernel shows no node link */
        BlockState state;
        bool have_valid_zones; /* older kernels and some configs lack valid_zones */
        unsigned valid_zones;  /* Zone mask; 0 means "none": it cannot be onlined */
        Zone default_zone;     /* first entry of valid_zones */
} BlockFacts;

typedef enum Action {
        ACTION_NONE,    /* nothing to do: already online, or on its way out */
        ACTION_ONLINE,  /* write the type to state */
        ACTION_OFFLINE, /* leave offline: the policy says so */
        ACTION_SKIP,    /* leave offline: the kernel cannot do what the policy asks */
        _ACTION_MAX,
} Action;

/* What decided, as facts: the daemon asks these, never the text. */
typedef enum DecisionBasis {
        DECISION_ALREADY_ONLINE,
        DECISION_GOING_OFFLINE,
        DECISION_RULE,                   /* the rule's Online= type as it is: asked */
        DECISION_PLATFORM_UNRESOLVED,    /* Online=platform that nobody resolved */
        DECISION_AUTO_MOVABLE,           /* Online=auto-movable: placement has the arithmetic */
        DECISION_AUTO_MOVABLE_NO_COUNTS, /* Online=auto-movable without zone statistics */
} DecisionBasis;

typedef struct Decision {
        Action action;
        OnlineType type; /* ACTION_ONLINE: what to write */
        Zone zone;       /* ACTION_ONLINE: the zone the kernel will use */
        char rule[80];   /* the section that decided: "[Memory]", "[Node 1]", "[Dax cxl]" */
        DecisionBasis basis;
        OnlineType asked;          /* the rule's Online= */
        bool have_valid_zones;     /* ACTION_ONLINE, ACTION_SKIP: whether the kernel showed them */
        unsigned valid_zones;      /* ACTION_SKIP by valid_zones: the Zone mask that lacks the zone */
        PlacementResult placement; /* DECISION_AUTO_MOVABLE */
        char reason[384];          /* made of the above by decision_format_reason() */
} Decision;

/* What Online=auto-movable needs besides the block: what is online where, and the block's group.
 * NULL where the caller has none: an auto-movable block is then left offline. */
typedef struct PlacementInput {
        const PlacementFacts *facts;
        PlacementRequest request;
} PlacementInput;

/* The decision engine: block facts and a config in, an action and its reason out. Pure. */
void policy_decide(const Config *c, const BlockFacts *f, const PlacementInput *in, Decision *ret);
/* The same with the online type and the deciding section given: for the blocks of a device-dax
 * instance, whose rule decides instead of [Memory] and [Node N] (whose MovableRatio= and
 * NumaAware= still apply). */
void policy_decide_as(const Config *c, const BlockFacts *f, OnlineType type, const char *rule,
                      const PlacementInput *in, Decision *ret);
/* MovableRatio= and NumaAware= for a block on node (-1: none known). */
void policy_placement_params(const Config *c, int node, PlacementParams *ret);

/* The reason as the journal, Plan and memhotplugctl show it, made of d's facts into d->reason:
 * "[Memory] Online=auto-movable: group PNP0C80:01 (4G): …". */
void decision_format_reason(Decision *d);

const char *action_to_string(Action a);

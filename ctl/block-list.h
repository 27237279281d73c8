/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* A client-side cap so that "0-4294967295" is a usage error, not a 16 GiB allocation. The daemon
 * has its own, lower limit per call and says so (org.memhotplug1.Error.TooManyBlocks). */
#define BLOCK_LIST_MAX (1u << 20)

/* Parses block arguments such as "5", "7-9", "memory12", "memory12-memory15", each argument
 * possibly holding several separated by blanks or commas. The result keeps the order given;
 * the daemon sorts and removes duplicates. Returns 0, -EINVAL (bad syntax), -ERANGE (a
 * backwards range or a number too large) or -E2BIG (more than BLOCK_LIST_MAX); on -EINVAL and
 * -ERANGE, ret_bad (if not NULL) gets a copy of the word that failed, for the message (the whole
 * argument when it holds no block at all, such as ",,,"). */
int block_list_parse(char *const *args, size_t n_args, unsigned **ret, size_t *ret_n, char **ret_bad);

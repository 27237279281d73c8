/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <syslog.h>

#include "macro.h"

/* SYSLOG_IDENTIFIER= of every journal entry (LogControl1's SyslogIdentifier). */
#define LOG_SYSLOG_IDENTIFIER "memhotplugd"

/* Named as systemd names them (LogControl1's LogTarget, systemd.exec(5)); "console" is stderr.
 * systemd's kmsg and syslog targets are not here: the unit's sandbox keeps /dev/kmsg away
 * (ProtectKernelLogs=), and under systemd syslog is the journal anyway. */
typedef enum LogTarget {
        LOG_TARGET_AUTO, /* the journal when stderr is connected to it, else stderr */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
        LOG_TARGET_NULL,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

const char *log_target_to_string(LogTarget t);
/* Also takes "stderr" for console, the daemon's older spelling. */
LogTarget log_target_from_string(const char *s);

void log_open(LogTarget target);
LogTarget log_get_target(void);
void log_set_max_level(int level);
int log_get_max_level(void);
bool log_to_journal(void);

/* Logs and returns -abs(error) (or 0 when error is 0), so callers can "return log_…_errno()".
 * fields is NULL or a NULL-terminated list of "KEY=value" journal fields; message_id may be NULL. */
_printf_(5, 6) int log_fields_errno(int level, int error, const char *message_id, const char *const *fields,
                                    const char *format, ...);

#define log_full_errno(level, error, ...) log_fields_errno(level, error, NULL, NULL, __VA_ARGS__)
#define log_debug(...)                    log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)                     log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)                   log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)                  log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)                    log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(error, ...)       log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_warning_errno(error, ...)     log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...)       log_full_errno(LOG_ERR, error, __VA_ARGS__)
#define log_oom()                         log_error_errno(ENOMEM, "Out of memory.")

/* Entries about one memory block carry its coordinates as journal fields (MEMORY_BLOCK=,
 * MEMORY_NODE= when node >= 0, MEMORY_ZONE= when zone is not 0), so "journalctl MEMORY_BLOCK=42"
 * tells the block's whole story. The message is prefixed "memoryN: ". */
_printf_(7, 8) int log_block(int level, int error, const char *message_id, unsigned index, int node,
                             unsigned zone, const char *format, ...);

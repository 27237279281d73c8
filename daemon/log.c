/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "memtypes.h"
#include "string-table.h"

static int max_level = LOG_INFO;
static LogTarget target = LOG_TARGET_AUTO;
static bool use_journal = false;

static const char *const log_target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_STDERR] = "console",
        [LOG_TARGET_NULL] = "null",
};

DEFINE_STRING_TABLE_TO_STRING(log_target, LogTarget);

LogTarget log_target_from_string(const char *s)
{
        assert(s);

        if (streq_ptr(s, "stderr"))
                return LOG_TARGET_STDERR;
        return (LogTarget)string_table_lookup(log_target_table, ELEMENTSOF(log_target_table), s);
}

static const char *const level_prefix[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "error",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* systemd sets $JOURNAL_STREAM to the device:inode of the stream it connected to stderr; if stderr
 * is still that stream, structured entries can go to the journal directly. */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_open(LogTarget t)
{
        target = t;
        use_journal = t == LOG_TARGET_JOURNAL || (t == LOG_TARGET_AUTO && stderr_is_journal());
}

LogTarget log_get_target(void)
{
        return target;
}

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

bool log_to_journal(void)
{
        return use_journal;
}

static void log_journal(int level, int error, const char *message_id, const char *const *fields,
                        const char *message)
{
        char prio[16], err[32], *mid = NULL, *msg = NULL;
        struct iovec iov[32];
        size_t n = 0;

        if (asprintf(&msg, "MESSAGE=%s", message) < 0)
                return;
        iov[n++] = (struct iovec){ msg, strlen(msg) };
        snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
        iov[n++] = (struct iovec){ prio, strlen(prio) };
        iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=" LOG_SYSLOG_IDENTIFIER,
                                   strlen("SYSLOG_IDENTIFIER=" LOG_SYSLOG_IDENTIFIER) };
        if (error != 0) {
                snprintf(err, sizeof(err), "ERRNO=%d", error);
                iov[n++] = (struct iovec){ err, strlen(err) };
        }
        if (message_id && asprintf(&mid, "MESSAGE_ID=%s", message_id) >= 0)
                iov[n++] = (struct iovec){ mid, strlen(mid) };
        for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };

        (void)sd_journal_sendv(iov, (int)n);
        free(mid);
        free(msg);
}

int log_fields_errno(int level, int error, const char *message_id, const char *const *fields,
                     const char *format, ...)
{
        char buf[1024];
        va_list ap;

        bool synthetic = IS_SYNTHETIC_ERRNO(error);

        assert(format);

        error = ERRNO_VALUE(error);
        if (level > max_level || target == LOG_TARGET_NULL)
                return -error;

        /* %m in the format names the error passed in, not whatever errno happens to hold. */
        errno = error;
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        /* An error that no system call returned (bad input, a usage error) gets no ERRNO= field. */
        if (use_journal)
                log_journal(level, synthetic ? 0 : error, message_id, fields, buf);
        else
                fprintf(stderr, "%s: %s\n", level_prefix[level & 7], buf);
        return -error;
}

int log_block(int level, int error, const char *message_id, unsigned index, int node, unsigned zone,
              const char *format, ...)
{
        char f_block[32], f_node[32], f_zone[32], message[512];
        const char *fields[4] = {};
        size_t n = 0;
        va_list ap;

        assert(format);

        if (level > max_level)
                return -ERRNO_VALUE(error);

        snprintf(f_block, sizeof(f_block), "MEMORY_BLOCK=%u", index);
        fields[n++] = f_block;
        if (node >= 0) {
                snprintf(f_node, sizeof(f_node), "MEMORY_NODE=%d", node);
                fields[n++] = f_node;
        }
        if (zone != 0) {
                snprintf(f_zone, sizeof(f_zone), "MEMORY_ZONE=%s", zone_to_string((Zone)zone));
                fields[n++] = f_zone;
        }

        errno = ERRNO_VALUE(error);
        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return log_fields_errno(level, error, message_id, fields, "memory%u: %s", index, message);
}

/*
 * aof_reader.h — iterate the commands of one AOF file held in memory, with
 * exact byte offsets, telling a clean end, a truncated tail and corruption
 * apart.
 *
 * Pure: takes bytes, returns status; the RESP grammar is src/proto/resp.h's
 * (resp_parse), with the AOF's extra rules on top:
 *  - a command is a multibulk with at least one argument ("*0" is corrupt);
 *  - a line starting with '#' is an annotation (aof-timestamp-enabled) and is
 *    skipped up to and including its '\n';
 *  - anything else starting a command is corrupt (no inline commands);
 *  - every header line and every bulk payload must be followed by "\r\n"
 *    (Redis writes them so; a different byte there is damage, not a quirk);
 *  - no limit on bulk lengths (like the master link).
 *
 * Outcome of aof_reader_next():
 *  AOF_READ_OK     one command in *cmd (argv borrowed, valid until the next call)
 *  AOF_READ_EOF    every byte consumed by complete commands
 *  AOF_READ_TRUNC  the bytes from r->off to the end are an incomplete command
 *                  (r->off = offset of the end of the last complete command)
 *  AOF_READ_ERR    corruption at r->err_off (r->off = end of the last complete
 *                  command), reason in r->err
 * After EOF/TRUNC/ERR the reader stays in that state.
 */
#ifndef TESSERA_AOF_READER_H
#define TESSERA_AOF_READER_H

#include <stddef.h>

#include "../lib/slice.h"
#include "../proto/resp.h"

enum { AOF_READ_OK = 0, AOF_READ_EOF = 1, AOF_READ_TRUNC = 2, AOF_READ_ERR = -1 };

typedef struct aof_cmd_s {
    int argc;
    slice_t *argv;  /* borrowed */
    size_t off;     /* offset of the command's first byte */
    size_t end;     /* offset just past it */
} aof_cmd_t;

typedef struct aof_reader_s {
    resp_parser_t parser;
    char *buf;
    size_t len;
    size_t off;       /* end of the last complete command (or annotation) */
    size_t err_off;   /* where corruption was found (AOF_READ_ERR) */
    int state;        /* AOF_READ_OK while more may come */
    char err[160];
} aof_reader_t;

/* buf must stay valid (and is not modified) while the reader is used. */
void aof_reader_init(aof_reader_t *r, char *buf, size_t len);
void aof_reader_deinit(aof_reader_t *r);
int aof_reader_next(aof_reader_t *r, aof_cmd_t *cmd);

/* Number of '\n' in buf[0..off) plus one: the line number of offset off. */
size_t aof_line_of(const char *buf, size_t off);

#endif

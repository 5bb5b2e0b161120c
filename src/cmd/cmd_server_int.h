/*
 * cmd_server_int.h — private to the server-command family (cmd_server.c,
 * cmd_info.c, cmd_debug.c, cmd_command.c): the handlers the family table in
 * cmd_server.c points to, and small shared helpers.
 *
 * Must not: be included outside this family. Public entry points of the
 * family are in errorstats.h, slowlog.h, latency.h, cmd_meta.h, cmd_info.h.
 */
#ifndef TESSERA_CMD_SERVER_INT_H
#define TESSERA_CMD_SERVER_INT_H

#include "cmd.h"

/* cmd_info.c */
void cmd_info(cmd_ctx_t *ctx);

/* cmd_debug.c */
void cmd_debug(cmd_ctx_t *ctx);

/* cmd_command.c */
void cmd_command(cmd_ctx_t *ctx);
void cmd_command_count(cmd_ctx_t *ctx);
void cmd_command_list(cmd_ctx_t *ctx);
void cmd_command_info(cmd_ctx_t *ctx);
void cmd_command_docs(cmd_ctx_t *ctx);
void cmd_command_getkeys(cmd_ctx_t *ctx);
void cmd_command_getkeysandflags(cmd_ctx_t *ctx);
void cmd_command_help(cmd_ctx_t *ctx);

/* "name" or "container|sub" (any case) → the row, or NULL. */
const cmd_def_t *srv_lookup_fullname(slice_t name);
/* "container|sub" or "name" of a row, lower case as in the table. */
size_t srv_fullname(const cmd_def_t *def, char *buf, size_t cap);
/* Redis's HELP reply: the header line for NAME, then lines, as status replies. */
void srv_reply_help(reply_t *r, const char *name, const char *const *lines);
/* "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try NAME HELP." */
void srv_reply_subcommand_error(reply_t *r, const char *name, slice_t sub);

#endif

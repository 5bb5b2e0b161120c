/*
 * cmd_cluster_int.h — private to the CLUSTER command files (cmd_cluster.c,
 * cmd_cluster_info.c): the handlers the table in cmd_cluster.c points to that
 * live in cmd_cluster_info.c, and the argument/reply helpers both use.
 *
 * Must not: be included outside cmd_cluster*.c.
 */
#ifndef TESSERA_CMD_CLUSTER_INT_H
#define TESSERA_CMD_CLUSTER_INT_H

#include "../lib/util.h"
#include "cmd.h"

/* 1 in cluster mode; else replies "ERR This instance has cluster support
 * disabled" and returns 0. */
int cl_enabled(cmd_ctx_t *ctx);
/* A slot argument (0..16383), or -1 after "ERR Invalid or out of range slot". */
int cl_slot_arg(cmd_ctx_t *ctx, slice_t a);
/* "ERR Unknown node <name>" */
void cl_reply_unknown_node(cmd_ctx_t *ctx, slice_t name);
/* "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try CLUSTER HELP." */
void cl_reply_subcommand_error(cmd_ctx_t *ctx);

static inline int str_to_ll_slice(slice_t a, long long *out)
{
    return str_to_ll(a.p, a.len, out);
}

/* cmd_cluster_info.c */
void cmd_cluster_info(cmd_ctx_t *ctx);
void cmd_cluster_nodes(cmd_ctx_t *ctx);
void cmd_cluster_slots(cmd_ctx_t *ctx);
void cmd_cluster_shards(cmd_ctx_t *ctx);
void cmd_cluster_links(cmd_ctx_t *ctx);
void cmd_cluster_replicas(cmd_ctx_t *ctx);

#endif

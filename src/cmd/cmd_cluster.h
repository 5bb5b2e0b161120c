/*
 * cmd_cluster.h — the cluster part of the command room: CLUSTER and its
 * subcommands, ASKING / READONLY / READWRITE (cmd_cluster.c and siblings), and
 * the routing every command goes through in cluster mode (cmd_cluster_route.c).
 *
 * Must not: touch sockets or libuv; the state lives in the cluster room
 * (cluster/cluster.h) and is reached through env->cluster, the transport through
 * env->cluster_bus (cluster/cluster_bus.h, uv-free API).
 */
#ifndef TESSERA_CMD_CLUSTER_H
#define TESSERA_CMD_CLUSTER_H

#include "cmd.h"

/*
 * Redis 7.0's cluster redirection (getNodeByQuery + clusterRedirectClient) for
 * one checked command about to run (or be queued in MULTI) in cluster mode.
 * Returns 0 to serve it here, or -1 after writing exactly one of
 *   -MOVED <slot> <endpoint>:<port>     -ASK <slot> <endpoint>:<port>
 *   -CROSSSLOT Keys in request don't hash to the same slot
 *   -TRYAGAIN Multiple keys request during rehashing of slot
 *   -CLUSTERDOWN The cluster is down
 *   -CLUSTERDOWN The cluster is down and only accepts read commands
 *   -CLUSTERDOWN Hash slot not served
 * Keys come from the row's legacy range {first, last, step} (negative last counts
 * from the end) or its getkeys function for movable keys; EXEC checks every
 * queued command's keys together (a refused EXEC discards the transaction, as
 * Redis does). Commands from our master (SESS_MASTER) and commands without keys
 * are always served. Clears SESS_ASKING (one-shot) unless the session is in MULTI.
 */
int cluster_route(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                  const slice_t *argv);

#endif

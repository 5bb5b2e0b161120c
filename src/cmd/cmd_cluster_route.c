/*
 * cmd_cluster_route.c — cluster redirection of every command (Redis 7.0's
 * getNodeByQuery and clusterRedirectClient): which node serves a request, and
 * the exact -MOVED / -ASK / -CROSSSLOT / -TRYAGAIN / -CLUSTERDOWN replies.
 *
 * Owns: key extraction for routing (legacy key range or the row's getkeys), the
 * decision order, and the one-shot ASKING flag's reset.
 * Must not: change cluster state or the keyspace (the only keyspace access is a
 * non-touching lookup of keys in a migrating/importing slot, which may expire
 * them exactly as Redis's lookup does).
 *
 * Decision order (Redis 7.0.15):
 *   1. keys of the command (EXEC: of every queued command): all must hash to
 *      one slot (else CROSSSLOT); an unowned slot is "Hash slot not served";
 *      the slot's state (MIGRATING here / IMPORTING here) is taken from the
 *      first key and each key's presence is counted while it is open;
 *   2. no key at all: served here;
 *   3. cluster state fail: CLUSTERDOWN unless reads-when-down allows a read
 *      (sharded pub/sub follows allow-pubsubshard-when-down);
 *   4. MIGRATE in an open slot: here;
 *   5. MIGRATING and some key missing: ASK to the target if no key is here,
 *      else TRYAGAIN;
 *   6. IMPORTING and (ASKING or an ASKING command): here, unless several keys
 *      and some missing (TRYAGAIN);
 *   7. READONLY session (or sharded pub/sub) on a replica of the slot's master
 *      and not a write: here;
 *   8. the owner: here if myself, else MOVED.
 */
#include <string.h>

#include "../cluster/cluster.h"
#include "../ks/db.h"
#include "../lib/crc16.h"
#include "../lib/mem.h"
#include "cmd_cluster.h"
#include "cmd_hooks.h"

enum {
    ROUTE_HERE = 0,
    ROUTE_MOVED,
    ROUTE_ASK,
    ROUTE_CROSSSLOT,
    ROUTE_TRYAGAIN,
    ROUTE_DOWN,
    ROUTE_DOWN_RO,
    ROUTE_UNBOUND
};

#define ROUTE_STACK_KEYS 32

typedef struct route_s {
    cluster_t *c;
    db_t *db;
    uint64_t now_ms;
    slice_t first;
    int have_first;
    int slot;
    cnode_t *owner;
    int migrating, importing, multiple_keys;
    int missing, existing;
    uint32_t cmd_flags; /* union of the routed commands' flags */
} route_t;

/* One key; returns ROUTE_HERE to go on, or the error that ends routing. */
static int route_key(route_t *rt, slice_t key)
{
    int slot = (int)key_hash_slot(key.p, key.len);
    if (!rt->have_first) {
        rt->have_first = 1;
        rt->first = key;
        rt->slot = slot;
        rt->owner = cluster_slot_owner(rt->c, slot);
        if (rt->owner == NULL)
            return ROUTE_UNBOUND;
        if (rt->owner == cluster_myself(rt->c) && cluster_slot_migrating(rt->c, slot) != NULL)
            rt->migrating = 1;
        else if (cluster_slot_importing(rt->c, slot) != NULL)
            rt->importing = 1;
    } else if (!slice_eq(rt->first, key)) {
        if (slot != rt->slot)
            return ROUTE_CROSSSLOT;
        rt->multiple_keys = 1;
    }
    if (rt->migrating || rt->importing) {
        if (db_lookup_flags(rt->db, key, rt->now_ms, DB_LOOKUP_NOTOUCH | DB_LOOKUP_NOSTATS) == NULL)
            rt->missing++;
        else
            rt->existing++;
    }
    return ROUTE_HERE;
}

/* The keys of one command, through route_key. */
static int route_cmd(route_t *rt, const cmd_def_t *cmd, int argc, const slice_t *argv)
{
    rt->cmd_flags |= cmd->flags;
    if (cmd->getkeys != NULL) {
        int stack[ROUTE_STACK_KEYS];
        int *pos = argc <= ROUTE_STACK_KEYS ? stack : mem_alloc(sizeof(int) * (size_t)argc);
        int n = cmd->getkeys(argc, argv, pos, argc), rc = ROUTE_HERE;
        for (int i = 0; i < n && rc == ROUTE_HERE; i++)
            if (pos[i] > 0 && pos[i] < argc)
                rc = route_key(rt, argv[pos[i]]);
        if (pos != stack)
            mem_free(pos);
        return rc;
    }
    if (cmd->key.first <= 0)
        return ROUTE_HERE;
    int last = cmd->key.last < 0 ? argc + cmd->key.last : cmd->key.last;
    int step = cmd->key.step > 0 ? cmd->key.step : 1;
    for (int i = cmd->key.first; i <= last && i < argc; i += step) {
        int rc = route_key(rt, argv[i]);
        if (rc != ROUTE_HERE)
            return rc;
    }
    return ROUTE_HERE;
}

static int is_named(const cmd_def_t *cmd, const char *name)
{
    return cmd->parent == NULL && strcmp(cmd->name, name) == 0;
}

static int is_pubsubshard(const cmd_def_t *cmd)
{
    return is_named(cmd, "ssubscribe") || is_named(cmd, "sunsubscribe") ||
           is_named(cmd, "spublish");
}

/* Steps 2..8 once the keys are known; *to is the node for MOVED/ASK. */
static int route_decide(route_t *rt, const session_t *s, int asking, const cmd_def_t *cmd,
                        cnode_t **to)
{
    cluster_t *c = rt->c;
    cnode_t *myself = cluster_myself(c);
    if (rt->owner == NULL)
        return ROUTE_HERE;
    int shard = is_pubsubshard(cmd);
    if (!cluster_state_ok(c)) {
        if (shard) {
            if (!cluster_cfg(c)->allow_pubsubshard_when_down)
                return ROUTE_DOWN;
        } else if (!cluster_cfg(c)->allow_reads_when_down) {
            return ROUTE_DOWN;
        } else if (rt->cmd_flags & CMD_WRITE) {
            return ROUTE_DOWN_RO;
        }
    }
    if ((rt->migrating || rt->importing) && is_named(cmd, "migrate"))
        return ROUTE_HERE;
    if (rt->migrating && rt->missing) {
        if (rt->existing)
            return ROUTE_TRYAGAIN;
        *to = cluster_slot_migrating(c, rt->slot);
        return ROUTE_ASK;
    }
    if (rt->importing && (asking || (cmd->flags & CMD_ASKING)))
        return (rt->multiple_keys && rt->missing) ? ROUTE_TRYAGAIN : ROUTE_HERE;
    if (((s->flags & SESS_READONLY) || shard) && !(rt->cmd_flags & CMD_WRITE) &&
        cnode_is_replica(myself) && myself->master == rt->owner)
        return ROUTE_HERE;
    if (rt->owner == myself)
        return ROUTE_HERE;
    *to = rt->owner;
    return ROUTE_MOVED;
}

static void route_reply(const cluster_t *c, reply_t *r, int code, const cnode_t *n, int slot)
{
    switch (code) {
    case ROUTE_CROSSSLOT:
        reply_error(r, "CROSSSLOT Keys in request don't hash to the same slot");
        break;
    case ROUTE_TRYAGAIN:
        reply_error(r, "TRYAGAIN Multiple keys request during rehashing of slot");
        break;
    case ROUTE_DOWN:
        reply_error(r, "CLUSTERDOWN The cluster is down");
        break;
    case ROUTE_DOWN_RO:
        reply_error(r, "CLUSTERDOWN The cluster is down and only accepts read commands");
        break;
    case ROUTE_UNBOUND:
        reply_error(r, "CLUSTERDOWN Hash slot not served");
        break;
    default:
        reply_errorf(r, "%s %d %s:%d", code == ROUTE_ASK ? "ASK" : "MOVED", slot,
                     cluster_node_endpoint(c, n), n->port);
        break;
    }
}

/* Keys of the request (EXEC: of its queue) into rt. */
static int route_keys(route_t *rt, const session_t *s, int is_exec, const cmd_def_t *cmd, int argc,
                      const slice_t *argv)
{
    if (!is_exec)
        return route_cmd(rt, cmd, argc, argv);
    const cmd_def_t *qc;
    int qargc;
    const slice_t *qargv;
    for (int i = 0; multi_queued_at(s, i, &qc, &qargc, &qargv); i++) {
        int rc = route_cmd(rt, qc, qargc, qargv);
        if (rc != ROUTE_HERE)
            return rc;
    }
    return ROUTE_HERE;
}

int cluster_route(cmd_env_t *env, session_t *s, reply_t *r, const cmd_def_t *cmd, int argc,
                  const slice_t *argv)
{
    int keyless = cmd->key.first <= 0 && cmd->getkeys == NULL;
    int is_exec = keyless && is_named(cmd, "exec");
    int asking = (s->flags & SESS_ASKING) != 0;
    if (!(s->flags & SESS_MULTI) || is_exec)
        s->flags &= ~SESS_ASKING; /* one-shot (kept across a MULTI until EXEC) */
    if ((keyless && !is_exec) || (s->flags & SESS_MASTER) ||
        (is_exec && !(s->flags & SESS_MULTI))) /* EXEC without MULTI: its own error */
        return 0;
    route_t rt = {.c = env->cluster, .db = ks_db(env->ks, 0), .now_ms = env->now_ms};
    cnode_t *to = NULL;
    int code = route_keys(&rt, s, is_exec, cmd, argc, argv);
    if (code == ROUTE_HERE)
        code = route_decide(&rt, s, asking, cmd, &to);
    if (code == ROUTE_HERE)
        return 0;
    if (is_exec)
        multi_session_release(env, s);
    route_reply(env->cluster, r, code, to, rt.slot);
    return -1;
}

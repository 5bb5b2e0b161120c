/*
 * cluster_priv.h — private to the cluster state machine files (cluster_state.c,
 * cluster_msg.c, cluster_gossip.c, cluster_fail.c, cluster_cmd.c, cluster_conf.c,
 * cluster_failover.c, cluster_election.c, cluster_mf.c).
 *
 * Owns: the layout of cluster_t and the helpers those files share.
 * Must not: be included by anything outside src/cluster/cluster_*.c (the
 * transport and the commands use cluster.h only).
 * Invariants: see cluster_state.c's header (the state diagram and invariants).
 */
#ifndef TESSERA_CLUSTER_PRIV_H
#define TESSERA_CLUSTER_PRIV_H

#include "cluster/cluster.h"
#include "lib/dict.h"

/* A forgotten node id and when its ban ends (seconds since the epoch). */
typedef struct cluster_ban_s {
    char name[CLUSTER_NAMELEN];
    uint64_t expire_s;
} cluster_ban_t;

/*
 * Election (cluster_election.c) and manual failover (cluster_mf.c) state; the
 * state machines and their invariants are written down in those files.
 */
typedef struct cluster_election_s {
    uint64_t auth_time;  /* ms, when the current or next election starts */
    int auth_count;      /* votes received so far */
    int auth_sent;       /* 1 if we already asked for votes */
    int auth_rank;       /* our rank among our master's replicas */
    uint64_t auth_epoch; /* epoch of the current election */
    int cant_failover_reason;
    uint64_t mf_end;     /* ms, manual failover deadline; 0 = none in progress */
    cnode_t *mf_replica; /* master side: the replica performing it */
    uint64_t mf_master_offset;
    int mf_can_start;
    int phase;             /* CLUSTER_ELECTION_* */
    int mf_offset_known;   /* replica: mf_master_offset was received */
    int mf_paused;         /* master: hooks.pause_writes was called (resume owed) */
    int asap;              /* run the election step again before returning */
    uint64_t cant_log_time; /* ms, last "Currently unable to failover" log */
} cluster_election_t;

struct cluster_s {
    cluster_cfg_t cfg;
    cluster_hooks_t hooks;
    uint64_t (*rnd)(void);
    cnode_t *myself;
    dict_t index;     /* name -> node (entries are cluster_box_t) */
    cnode_t **nodes;  /* every node, myself included, unordered */
    size_t n_nodes, cap_nodes;
    uint64_t current_epoch;
    uint64_t last_vote_epoch;
    int state; /* BUS_STATE_OK / BUS_STATE_FAIL */
    int size;  /* masters with >= 1 slot, as of the last state update */
    int todo;
    int pfail_nodes; /* nodes in PFAIL counted by the last tick */
    uint64_t iteration;
    uint64_t first_update_time;   /* ms, first state update (0 = not yet) */
    uint64_t among_minority_time; /* ms, last time we saw ourselves in a minority */
    cnode_t *slots[CLUSTER_SLOTS];
    /* Written only through cluster_state_set_migrating/_importing, which keep
     * n_markers = the non-NULL entries of both (the formatter's early exit). */
    cnode_t *migrating[CLUSTER_SLOTS]; /* slot -> target while MIGRATING */
    cnode_t *importing[CLUSTER_SLOTS]; /* slot -> source while IMPORTING */
    int n_markers;
    cluster_out_t *out; /* outbox: out[out_head .. out_len) pending */
    size_t out_head, out_len, out_cap;
    uint64_t stats_sent[BUS_TYPE_COUNT];
    uint64_t stats_received[BUS_TYPE_COUNT];
    uint64_t links_buffer_limit_exceeded;
    cluster_ban_t *bans;
    size_t n_bans, cap_bans;
    uint64_t repl_offset; /* our replication offset (header `offset`) */
    cluster_election_t election;
    int master_link_up;        /* replica: replication link connected */
    uint64_t master_link_time; /* ms, last data from the master (0 = never/unknown) */
    int shutting_down;         /* cluster_set_shutting_down: no votes, no elections */
};

/* ---- cluster_state.c: node table, slots, outbox, helpers ---------------------- */
cnode_t *cluster_state_node_new(cluster_t *c, const char *name, uint32_t flags, uint64_t now_ms);
void cluster_state_node_add(cluster_t *c, cnode_t *n);
void cluster_state_node_del(cluster_t *c, cnode_t *n); /* Redis clusterDelNode */
void cluster_state_node_rename(cluster_t *c, cnode_t *n, const char *name40);
void cluster_state_random_name(cluster_t *c, char *name40);
int cluster_state_add_slot(cluster_t *c, cnode_t *n, int slot);
int cluster_state_del_slot(cluster_t *c, int slot);
void cluster_state_del_node_slots(cluster_t *c, cnode_t *n);
void cluster_state_add_replica(cnode_t *master, cnode_t *replica);
int cluster_state_remove_replica(cnode_t *master, cnode_t *replica);
void cluster_state_set_node_as_master(cluster_t *c, cnode_t *n);
void cluster_state_set_my_master(cluster_t *c, cnode_t *n);
void cluster_state_close_all_slots(cluster_t *c);
uint64_t cluster_state_max_epoch(const cluster_t *c);
int cluster_state_bump_epoch_no_consensus(cluster_t *c);
void cluster_state_set_str(char **field, const char *s, size_t len); /* NULL/empty = none */
void cluster_state_queue(cluster_t *c, cnode_t *to, bus_buf_t *b, uint16_t type);
void cluster_state_todo(cluster_t *c, int flags);
void cluster_state_ban_add(cluster_t *c, const char *name40, uint64_t now_ms, uint64_t ttl_s);
int cluster_state_ban_exists(cluster_t *c, const char *name40, uint64_t now_ms);
uint64_t cluster_state_ban_ttl(const cluster_t *c, size_t i, uint64_t now_ms);
cnode_t *cluster_state_lookup40(const cluster_t *c, const char *name40);
void cluster_state_update_myself_announce(cluster_t *c);
/* The only writers of c->migrating / c->importing (n may be NULL). */
static inline void cluster_state_set_migrating(cluster_t *c, int slot, cnode_t *n)
{
    c->n_markers += (n != NULL) - (c->migrating[slot] != NULL);
    c->migrating[slot] = n;
}
static inline void cluster_state_set_importing(cluster_t *c, int slot, cnode_t *n)
{
    c->n_markers += (n != NULL) - (c->importing[slot] != NULL);
    c->importing[slot] = n;
}

static inline cnode_t *cluster_state_epoch_node(cnode_t *n) /* nodeEpoch: a replica's master */
{
    return (cnode_is_replica(n) && n->master) ? n->master : n;
}

/* ---- cluster_gossip.c: building and sending messages ----------------------------- */
void cluster_gossip_build_header(const cluster_t *c, bus_hdr_t *h);
/* PING / PONG / MEET with gossip + extensions into b (appended). to: the node it is
 * for (ping_sent is stamped for a PING), NULL for a reply on an inbound link. */
void cluster_gossip_build_ping(cluster_t *c, bus_buf_t *b, uint16_t type, cnode_t *to,
                               uint64_t now_ms);
void cluster_gossip_send_ping(cluster_t *c, cnode_t *to, uint16_t type, uint64_t now_ms);
void cluster_gossip_reply_ping(cluster_t *c, bus_buf_t *reply, uint16_t type, uint64_t now_ms);
void cluster_gossip_broadcast(cluster_t *c, const bus_buf_t *b, uint16_t type);
void cluster_gossip_broadcast_pong(cluster_t *c, int local_replicas_only, uint64_t now_ms);
void cluster_gossip_send_fail(cluster_t *c, const char *name40);
void cluster_gossip_send_update(cluster_t *c, cnode_t *to, const cnode_t *about);

/* ---- cluster_fail.c: failure reports, failure detection, cluster state ------------ */
int cluster_fail_report_add(cluster_t *c, cnode_t *failing, cnode_t *sender, uint64_t now_ms);
int cluster_fail_report_del(cluster_t *c, cnode_t *failing, cnode_t *sender, uint64_t now_ms);
int cluster_fail_report_count(cluster_t *c, cnode_t *n, uint64_t now_ms);
void cluster_fail_mark_if_needed(cluster_t *c, cnode_t *n, uint64_t now_ms);
void cluster_fail_clear_if_needed(cluster_t *c, cnode_t *n, uint64_t now_ms);
void cluster_fail_update_state(cluster_t *c, uint64_t now_ms);

/* ---- cluster_failover.c: votes (and, later, elections and manual failover) ------- */
/* A FAILOVER_AUTH_REQUEST from sender: grant our vote (AUTH_ACK) if Redis would. */
void cluster_failover_vote(cluster_t *c, cnode_t *sender, const bus_hdr_t *req, uint64_t now_ms);

/* ---- cluster_election.c: replica elections, promotion, replica migration -------- */
uint64_t cluster_election_my_offset(const cluster_t *c); /* hooks.repl_offset or pushed */
void cluster_election_reset(cluster_t *c);               /* -> CLUSTER_ELECTION_NONE */
void cluster_election_handle(cluster_t *c, uint64_t now_ms); /* clusterHandleSlaveFailover */
void cluster_election_on_ack(cluster_t *c, cnode_t *sender, const bus_hdr_t *h);
/* clusterFailoverReplaceYourMaster: take the master's slots, become master, PONG all. */
void cluster_election_promote(cluster_t *c, uint64_t now_ms);
void cluster_election_migration(cluster_t *c, uint64_t now_ms); /* replica migration */
/* The replica part of clusterCron (manual failover timeout, catch-up, election,
 * migration); cluster_tick calls it once per tick. */
void cluster_failover_cron(cluster_t *c, uint64_t now_ms);
/* Runs the election step again while a message asked for it (ACK, paused offset). */
void cluster_failover_asap(cluster_t *c, uint64_t now_ms);
void cluster_election_validate(const cluster_t *c);

/* ---- cluster_mf.c: manual failover ------------------------------------------------ */
void cluster_mf_reset(cluster_t *c); /* resetManualFailover: resumes paused writes */
void cluster_mf_check_timeout(cluster_t *c, uint64_t now_ms);
void cluster_mf_handle(cluster_t *c, uint64_t now_ms); /* clusterHandleManualFailover */
/* Any message header from a known sender: a paused master's offset. */
void cluster_mf_on_header(cluster_t *c, cnode_t *sender, const bus_hdr_t *h);
void cluster_mf_on_mfstart(cluster_t *c, cluster_link_in_t *in, cnode_t *sender,
                           const bus_hdr_t *h, uint64_t now_ms);
void cluster_mf_validate(const cluster_t *c);

/* ---- cluster_msg.c: processing received messages ---------------------------------- */
void cluster_msg_update_slots(cluster_t *c, cnode_t *sender, uint64_t sender_epoch,
                              const uint8_t *slots);

#endif

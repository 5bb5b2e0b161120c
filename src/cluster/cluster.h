/*
 * cluster.h — the cluster state machine's public API (Redis 7.0 cluster semantics).
 *
 * Owns: the node table (myself + every node we know), epochs, slot ownership and
 * migration tables, failure detection, gossip content, the outbox of bus messages
 * to send, the nodes.conf text, and the texts of CLUSTER NODES / CLUSTER INFO.
 * Implemented by src/cluster/cluster_state.c and its sibling files (pure: no
 * sockets, no libuv, no clock reads: now_ms is passed in, randomness injected).
 * Must not: do I/O other than logging through log.h. The transport
 * (cluster_bus.c) moves bytes and owns the links; the commands (cmd_cluster*.c)
 * call the functions below and format replies.
 *
 * Contract with the transport (cluster_bus.c):
 *  - Time: every now_ms is WALL-CLOCK milliseconds since the epoch (time_ms()),
 *    because CLUSTER NODES prints these stamps and gossip carries them in seconds.
 *  - Links: for every node n with n != myself and !(n->flags & BUS_NODE_NOADDR)
 *    and no outbound link, the transport connects to n->ip:n->cport. When the
 *    outbound link is up it calls cluster_link_connected(n) (which queues the
 *    first PING, or a MEET for a node flagged BUS_NODE_MEET). When it closes or
 *    fails, cluster_link_down(n). After cluster_tick the transport closes (and
 *    later reconnects) the outbound link of every node with n->link_reset set,
 *    then calls cluster_link_down(n), which clears the flag. link_reset can also
 *    be set while processing a message (a node's address changed): check it
 *    in before_sleep too.
 *  - Node lifetime: cnode_t pointers are stable while the node exists (a handshake
 *    node keeps its pointer when it learns its real name). Before a node is freed
 *    the state machine calls hooks.node_deleted(ctx, n): the transport detaches
 *    and closes both links of n (asynchronously if one of them is the link whose
 *    message is being processed). n->link / n->inbound_link are free for the
 *    transport to use (the state machine never dereferences them).
 *  - Messages in: each complete frame decoded by bus_msg_decode is handed to
 *    cluster_on_msg with a cluster_link_in_t describing the link. Replies that
 *    must go back on the SAME link (PONG to PING/MEET, as Redis does) are appended
 *    to in->reply; the transport writes them on that link. On return in->sender is
 *    the known node that sent the message (or NULL): for an inbound link the
 *    transport may remember it as that node's inbound link (CLUSTER LINKS).
 *  - Messages out: everything else is queued in the outbox, one entry per
 *    destination node (broadcasts are expanded by the state machine to every node
 *    with a connected outbound link, not myself, not in handshake, as Redis does).
 *    cluster_out_pop hands them over; the transport writes them on to->link's
 *    outbound link (dropping the entry if that link is gone).
 *  - Persistence: cluster_todo_take() in before_sleep; when it has
 *    CLUSTER_TODO_SAVE the loop writes cluster_serialize() atomically (fsync when
 *    CLUSTER_TODO_FSYNC) BEFORE sending the outbox (state that must survive is
 *    saved before anyone hears about it).
 *  - Set the hooks (cluster_set_hooks) before cluster_load: loading a replica's
 *    nodes.conf calls hooks.role_changed(master).
 *
 * Wire policy: we send what Redis 7.0.15 sends — the HOSTNAME ping extension when
 * cluster-announce-hostname is set (and HUMAN_NODENAME only when
 * cluster-announce-human-nodename is set: 7.0 peers log a warning per unknown
 * extension); FORGOTTEN_NODE and SHARDID are understood on receipt (7.2+ peers)
 * but never sent. Checked against live redis-server 7.0.15 nodes: joining by MEET
 * either way, slot claims, configEpoch collisions, PFAIL/FAIL both ways, FAIL
 * clearing, a vote that completed a real replica's failover, CLUSTER REPLICATE.
 *
 * Invariants (checked by cluster_validate under DEBUG_ASSERT): exactly one node is
 * myself; node names are unique 40-char ids; slot_owner[s] == n iff bit s is set
 * in n->slots; n->num_slots == popcount(n->slots); every replica is in its
 * master's replica list and nowhere else; a node is never both MASTER and SLAVE;
 * plus the election and manual failover invariants written down in
 * cluster_election.c and cluster_mf.c.
 */
#ifndef TESSERA_CLUSTER_H
#define TESSERA_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/bus_msg.h"

#define CLUSTER_SLOTS 16384
#define CLUSTER_SLOT_BYTES (CLUSTER_SLOTS / 8)
#define CLUSTER_NAMELEN 40
#define CLUSTER_IPLEN 46
#define CLUSTER_HOSTNAME_MAX 255

/* Redis 7.0 constants (cluster.h of Redis, values as documented in the spec). */
#define CLUSTER_FAIL_REPORT_VALIDITY_MULT 2 /* fail reports valid for 2 x node_timeout */
#define CLUSTER_FAIL_UNDO_TIME_MULT 2       /* undo FAIL of a master after 2 x node_timeout */
#define CLUSTER_BLACKLIST_TTL 60            /* seconds a FORGET bans a node id */
#define CLUSTER_MAX_REJOIN_DELAY 5000       /* ms */
#define CLUSTER_MIN_REJOIN_DELAY 500
#define CLUSTER_WRITABLE_DELAY 2000 /* ms after start before accepting writes (state ok) */
#define CLUSTER_MF_TIMEOUT 5000             /* ms a manual failover may take */
#define CLUSTER_MF_PAUSE_MULT 2             /* the master pauses writes MF_TIMEOUT x 2 */
#define CLUSTER_SLAVE_MIGRATION_DELAY 5000  /* ms a master stays orphaned before a migration */
#define CLUSTER_CANT_FAILOVER_RELOG_PERIOD 10000 /* ms between two identical "unable" logs */

typedef struct cluster_s cluster_t; /* opaque */
typedef struct cnode_s cnode_t;

/* One failure report: `node` said at `time` (ms) that the owner is PFAIL/FAIL. */
typedef struct cnode_fail_report_s {
    cnode_t *node;
    uint64_t time;
} cnode_fail_report_t;

/*
 * A node record. Fields are PUBLIC READ-ONLY for everything outside the state
 * machine, except link / inbound_link, which belong to the transport.
 */
struct cnode_s {
    char name[CLUSTER_NAMELEN + 1]; /* 40 hex chars + NUL; random while in handshake */
    uint32_t flags;                 /* BUS_NODE_* (MYSELF, MASTER, SLAVE, PFAIL, FAIL,
                                     * HANDSHAKE, NOADDR, MEET, MIGRATE_TO, NOFAILOVER) */
    uint64_t ctime;                 /* ms, when the record was created */
    uint64_t config_epoch;
    uint8_t slots[CLUSTER_SLOT_BYTES]; /* slots this node serves (bus bit order) */
    int num_slots;
    cnode_t **replicas; /* replicas of this master (num_replicas entries) */
    int num_replicas;
    cnode_t *master;    /* for a replica: its master; NULL if unknown or a master */
    uint64_t ping_sent;     /* ms, PING pending since; 0 = no ping pending */
    uint64_t pong_received; /* ms, last PONG received */
    uint64_t data_received; /* ms, last message of any kind received */
    uint64_t fail_time;     /* ms, when FAIL was set */
    uint64_t voted_time;    /* ms, last vote granted to a replica of this master */
    uint64_t repl_offset_time; /* ms, when repl_offset was last updated */
    uint64_t orphaned_time;    /* ms, since when a master has no working replica */
    uint64_t repl_offset;      /* last known replication offset (header `offset`) */
    char ip[CLUSTER_IPLEN];    /* NUL-terminated, may be empty */
    int port;  /* client port */
    int pport; /* the other (plaintext) client port, 0 if none */
    int cport; /* bus port */
    char *hostname;       /* announced hostname, NULL if none (mem.h) */
    char *human_nodename; /* announced human node name, NULL if none (mem.h) */
    char shard_id[CLUSTER_NAMELEN + 1]; /* 40 hex chars; masters: their own, replicas: master's */
    cnode_fail_report_t *fail_reports; /* n_fail_reports entries */
    size_t n_fail_reports;
    size_t fail_reports_cap;
    int link_connected; /* outbound link up (cluster_link_connected .. cluster_link_down) */
    uint64_t link_ctime; /* ms, when the outbound link came up */
    int link_reset;     /* set by cluster_tick: the transport should drop and reconnect */
    void *link;         /* transport-owned: outbound link */
    void *inbound_link; /* transport-owned: inbound link */
};

typedef struct cluster_cfg_s { /* copied from config_t by the server */
    uint64_t node_timeout;     /* cluster-node-timeout, ms */
    int port, cport, pport;    /* announced client port / bus port / other port */
    char announce_ip[CLUSTER_IPLEN];              /* "" = let peers see our address */
    char announce_hostname[CLUSTER_HOSTNAME_MAX + 1]; /* "" = none */
    char human_nodename[CLUSTER_HOSTNAME_MAX + 1];    /* "" = none */
    int require_full_coverage, allow_reads_when_down, allow_pubsubshard_when_down;
    int replica_validity_factor, migration_barrier, allow_replica_migration, replica_no_failover;
    int preferred_endpoint; /* CLUSTER_ENDPOINT_* */
    int repl_ping_replica_period; /* repl-ping-replica-period, seconds; 0 = 10 (the default) */
} cluster_cfg_t;

enum { CLUSTER_ENDPOINT_IP = 0, CLUSTER_ENDPOINT_HOSTNAME = 1, CLUSTER_ENDPOINT_UNKNOWN = 2 };

/* Callbacks into the server / transport. Any may be NULL. */
typedef struct cluster_hooks_s {
    void *ctx;
    /* n is about to be freed: drop both of its links (see Node lifetime above). */
    void (*node_deleted)(void *ctx, cnode_t *n);
    /* A PUBLISH (shard = 0) or PUBLISHSHARD (shard = 1) from the bus: deliver to
     * local subscribers. Buffers are borrowed for the duration of the call. */
    void (*publish)(void *ctx, int shard, const uint8_t *channel, size_t channel_len,
                    const uint8_t *message, size_t message_len);
    /* myself changed role: master == NULL: we became a master; else we are now a
     * replica of master (the replication room starts/stops syncing). */
    void (*role_changed)(void *ctx, cnode_t *master);
    /* Slots myself lost (bitmap of slots moved to another owner through gossip or
     * UPDATE) while we still may hold keys in them: the server deletes those keys
     * the way Redis does when a master loses slots (delKeysInSlot). */
    void (*slots_lost)(void *ctx, const uint8_t *slots);
    /* Manual failover, master side (issue 6): pause the writes of normal clients
     * (they wait, as with CLIENT PAUSE WRITE; replicas keep being served) until
     * until_ms (wall clock) or until called again with until_ms == 0, which
     * resumes them. While paused the master must not grow its replication
     * offset on its own (no replication PINGs, no active expiry or eviction), as
     * Redis 7.0 does, so that the offset it announces is final. */
    void (*pause_writes)(void *ctx, uint64_t until_ms);
    /* Our replication offset right now (master_repl_offset as a master, the
     * offset processed from the master as a replica). Pulled when a message
     * header is built, for the election rank and for the manual failover
     * catch-up. Strongly recommended: when NULL the value last given to
     * cluster_set_repl_offset is used, and then the server must push every
     * change before the bus is served again, or a paused master could announce
     * a stale offset and its replica take over before it has every write. */
    uint64_t (*repl_offset)(void *ctx);
} cluster_hooks_t;

/* Outbox entry: an encoded bus message (bus_msg_build_*) for one node. */
typedef struct cluster_out_s {
    cnode_t *to;   /* destination (never NULL: broadcasts are expanded) */
    int meet;      /* 1 if the message is a MEET (informational) */
    uint8_t *data; /* mem_alloc'd; the transport frees it with mem_free */
    size_t len;
} cluster_out_t;

/* ---- life cycle ----------------------------------------------------------- */

/* Creates an empty cluster (no myself yet: call cluster_load, even with len 0).
 * rnd: uniform 64-bit randomness (node ids, gossip sampling, delays). */
cluster_t *cluster_new(const cluster_cfg_t *cfg, uint64_t (*rnd)(void), uint64_t now_ms);
void cluster_free(cluster_t *c); /* calls hooks.node_deleted for no node */
void cluster_set_hooks(cluster_t *c, const cluster_hooks_t *hooks);
/* Updates settings at run time (CONFIG SET cluster-*); myself's announced address,
 * hostname and human node name follow (a SAVE is scheduled if they changed). */
void cluster_set_cfg(cluster_t *c, const cluster_cfg_t *cfg);
const cluster_cfg_t *cluster_cfg(const cluster_t *c);

/*
 * Loads nodes.conf text (already read by the caller). len == 0: fresh node:
 * myself is created as a master with a random id and shard id, epochs 0, and a
 * SAVE is scheduled. Returns 0, or -1 with "line N: reason" in err (the server
 * refuses to start). Restores ids, addresses, hostnames, flags (PFAIL/FAIL kept
 * as Redis does; MYSELF's address is refreshed from cfg), master links, epochs,
 * slots and myself's migrating/importing markers.
 */
int cluster_load(cluster_t *c, const char *text, size_t len, uint64_t now_ms, char *err,
                 size_t errcap);
/* nodes.conf text (handshake nodes omitted), NUL-terminated, mem_alloc'd. */
char *cluster_serialize(const cluster_t *c, size_t *len);

/*
 * Work for before_sleep, in Redis's clusterBeforeSleep order:
 *   1. cluster_before_sleep_state(c, now)  — recomputes cluster_state/size if a
 *      change asked for it (CLUSTER_TODO_UPDATE_STATE), then clears that bit;
 *   2. t = cluster_todo_take(c)            — if t & CLUSTER_TODO_SAVE write
 *      cluster_serialize() atomically (fsync when t & CLUSTER_TODO_FSYNC);
 *   3. drain the outbox (cluster_out_pop) and apply n->link_reset.
 * cluster_todo_take returns the pending flags and clears SAVE and FSYNC (the
 * UPDATE_STATE bit is reported but cleared only by step 1).
 */
enum {
    CLUSTER_TODO_SAVE = 1,        /* write nodes.conf */
    CLUSTER_TODO_FSYNC = 2,       /* ... and fsync it */
    CLUSTER_TODO_UPDATE_STATE = 4 /* cluster_before_sleep_state has work */
};
int cluster_todo_take(cluster_t *c);
void cluster_before_sleep_state(cluster_t *c, uint64_t now_ms);

/* ---- time, links, messages ------------------------------------------------- */

/* clusterCron: call 10 times per second. */
void cluster_tick(cluster_t *c, uint64_t now_ms);

/* Describes the link a message came in on. */
typedef struct cluster_link_in_s {
    cnode_t *node;       /* in: outbound link: its node; inbound: the node it is attached
                          * to, or NULL while unknown */
    int inbound;         /* in: 1 for an accepted link */
    const char *peer_ip; /* in: the socket's peer address (NUL-terminated) */
    const char *local_ip; /* in: our address on this socket (Redis learns its own IP
                           * from the socket a MEET arrives on); may be NULL */
    bus_buf_t *reply;    /* in/out: messages appended here go back on this link */
    cnode_t *sender;     /* out: known sender node after processing, or NULL */
} cluster_link_in_t;

/* Processes one decoded message. Returns 0, or -1 when the link must be closed
 * (the node of this outbound link was deleted — then in->node is set to NULL and
 * hooks.node_deleted was called — or answered with another id and is now
 * NOADDR, or a handshake failed). Any message type is accepted: unknown ones are
 * counted and ignored. */
int cluster_on_msg(cluster_t *c, cluster_link_in_t *in, const bus_msg_t *m, uint64_t now_ms);
/* Outbound link to n is up: queues MEET (if n has BUS_NODE_MEET) or PING. */
void cluster_link_connected(cluster_t *c, cnode_t *n, uint64_t now_ms);
/* Outbound link to n is closed (n->link_connected and n->link_reset cleared). */
void cluster_link_down(cluster_t *c, cnode_t *n, uint64_t now_ms);
/* Also call cluster_link_down when a connect attempt fails: a node we cannot
 * reach gets a pending ping stamp, so failure detection runs (Redis does this for
 * synchronous connect errors). */
/* Pops the oldest queued message. 1 if *out was filled (caller owns out->data). */
int cluster_out_pop(cluster_t *c, cluster_out_t *out);
/* Messages queued (for tests and the transport's draining loop). */
size_t cluster_out_pending(const cluster_t *c);

/* ---- node table -------------------------------------------------------- */

size_t cluster_node_count(const cluster_t *c);
cnode_t *cluster_node_at(const cluster_t *c, size_t i); /* 0 <= i < count; order unspecified */
cnode_t *cluster_myself(const cluster_t *c);
cnode_t *cluster_lookup(const cluster_t *c, const char *name, size_t len); /* NULL if unknown */
uint64_t cluster_current_epoch(const cluster_t *c);
uint64_t cluster_last_vote_epoch(const cluster_t *c);
int cluster_size(const cluster_t *c); /* masters serving >= 1 slot */

/* ---- publish ------------------------------------------------------------ */

/* PUBLISH (shard 0: to every node) / SPUBLISH (shard 1: to myself's shard). */
void cluster_publish(cluster_t *c, int shard, const void *channel, size_t channel_len,
                     const void *message, size_t message_len);

/* ---- commands: state changes (0, or -1 with a Redis error text in err) ------- */

/* CLUSTER MEET ip port [cport]: cport <= 0 means port + 10000. */
int cluster_meet(cluster_t *c, const char *ip, int port, int cport, char *err, size_t cap,
                 uint64_t now_ms);
/*
 * ADDSLOTS / DELSLOTS / ADDSLOTSRANGE / DELSLOTSRANGE, in two steps so that the
 * error for the first offending argument is the one Redis reports:
 *  1. for each argument (slot s: range s..s) in order, after parsing it
 *     ("ERR Invalid or out of range slot" and "ERR start slot number A is greater
 *     than end slot number B" are the command's), call cluster_slots_check with a
 *     zeroed 2048-byte `seen` bitmap: "ERR Slot N is already busy" (add),
 *     "ERR Slot N is already unassigned" (del), "ERR Slot N specified multiple
 *     times"; it marks the range in seen;
 *  2. cluster_slots_apply(seen): assigns to / removes from myself (clearing an
 *     importing state on added slots) and schedules SAVE + UPDATE_STATE.
 * cluster_add_slots / cluster_del_slots do both for a bitmap (no duplicates).
 */
int cluster_slots_check(const cluster_t *c, uint8_t *seen, int del, int start, int end, char *err,
                        size_t cap);
void cluster_slots_apply(cluster_t *c, const uint8_t *seen, int del);
int cluster_add_slots(cluster_t *c, const uint8_t *bitmap, char *err, size_t cap);
int cluster_del_slots(cluster_t *c, const uint8_t *bitmap, char *err, size_t cap);
/* FLUSHSLOTS: "ERR DB must be empty to perform CLUSTER FLUSHSLOTS." is checked by
 * the command (it knows the keyspace). Always 0. */
int cluster_flush_slots(cluster_t *c, char *err, size_t cap);
/* SET-CONFIG-EPOCH (epoch as parsed: negative gives "ERR Invalid config epoch
 * specified: N"). */
int cluster_set_config_epoch(cluster_t *c, long long epoch, char *err, size_t cap);
int cluster_bump_epoch(cluster_t *c, int *bumped /* 1 BUMPED, 0 STILL */);
int cluster_forget(cluster_t *c, const char *name, size_t len, char *err, size_t cap,
                   uint64_t now_ms);
/* REPLICATE: "ERR To set a master the node must be empty and without assigned
 * slots." for the non-empty-db case is checked by the command (db_empty arg). */
int cluster_replicate(cluster_t *c, const char *name, size_t len, int db_empty, char *err,
                      size_t cap, uint64_t now_ms);
/* RESET: the caller has checked "ERR CLUSTER RESET can't be called with master nodes
 * containing keys" and flushed data for a replica becoming master. */
int cluster_reset(cluster_t *c, int hard, uint64_t now_ms, char *err, size_t cap);
enum { CLUSTER_SETSLOT_IMPORTING, CLUSTER_SETSLOT_MIGRATING, CLUSTER_SETSLOT_NODE,
       CLUSTER_SETSLOT_STABLE };
/* SETSLOT slot IMPORTING|MIGRATING|NODE id / STABLE. keys_in_slot: keys we hold in
 * slot (for "ERR Can't assign hashslot %d to a different node while I still hold
 * keys for this hash slot."). */
int cluster_setslot(cluster_t *c, int slot, int how, const char *name, size_t len,
                    long long keys_in_slot, char *err, size_t cap);

/* ---- reads for commands and routing ------------------------------------------ */

cnode_t *cluster_slot_owner(const cluster_t *c, int slot);
cnode_t *cluster_slot_migrating(const cluster_t *c, int slot); /* target if MIGRATING here */
cnode_t *cluster_slot_importing(const cluster_t *c, int slot); /* source if IMPORTING here */
int cluster_state_ok(const cluster_t *c); /* cluster_state:ok */
/* The endpoint clients are told for n (MOVED/ASK, CLUSTER SLOTS/SHARDS) per
 * cluster-preferred-endpoint-type: ip, hostname (or "?" when n has none) or "". */
const char *cluster_node_endpoint(const cluster_t *c, const cnode_t *n);
/* Redis's nodeIsMaster / nodeFailed helpers. */
static inline int cnode_is_master(const cnode_t *n) { return (n->flags & BUS_NODE_MASTER) != 0; }
static inline int cnode_is_replica(const cnode_t *n) { return (n->flags & BUS_NODE_SLAVE) != 0; }
static inline int cnode_failed(const cnode_t *n) { return (n->flags & BUS_NODE_FAIL) != 0; }
static inline int cnode_has_slot(const cnode_t *n, int slot)
{
    return bus_slot_test(n->slots, (unsigned)slot);
}
/* COUNT-FAILURE-REPORTS (expired reports are dropped first, as Redis does). */
int cluster_failure_reports_count(cluster_t *c, cnode_t *n, uint64_t now_ms);

/* CLUSTER NODES text: one line per node, skipping nodes with any flag in filter
 * (0 = all nodes, handshake included, as CLUSTER NODES shows them). mem_alloc'd
 * NUL-terminated, returns its length. */
size_t cluster_nodes_text(const cluster_t *c, char **out, uint64_t now_ms, int filter);
/* One CLUSTER NODES line for n (for CLUSTER REPLICAS), '\n' included. */
size_t cluster_node_line(const cluster_t *c, const cnode_t *n, char **out);
/* CLUSTER INFO text ("cluster_state:ok\r\n..."), mem_alloc'd, returns its length. */
size_t cluster_info_text(const cluster_t *c, char **out);
/* Message counters for CLUSTER INFO (per bus type). */
uint64_t cluster_stats_sent(const cluster_t *c, int type);
uint64_t cluster_stats_received(const cluster_t *c, int type);
/* The transport reports a link dropped for exceeding cluster-link-sendbuf-limit. */
void cluster_stat_link_buffer_limit_exceeded(cluster_t *c);

/* ---- replication / failover (issue 6) ---------------------------------------- */

/* The server tells us its replication offset (myself->repl_offset, header
 * offset): master_repl_offset as a master, the offset processed from the master
 * as a replica. Call it whenever it changes (or at least before every
 * cluster_tick) unless hooks.repl_offset is set. */
void cluster_set_repl_offset(cluster_t *c, uint64_t offset);
/*
 * The replication room reports the link to our master (a replica's data age,
 * Redis's lastinteraction / repl_down_since): up = 1 while the replication
 * link is connected, last_ms = wall-clock ms of the last data received from the
 * master (call at least once per second while up); up = 0 when the link is
 * lost, last_ms = when it was lost (call once). Until it is called after we
 * became a replica, our data counts as infinitely old: with
 * cluster-replica-validity-factor != 0 no automatic failover is attempted (as
 * Redis: a replica that never synced does not fail over).
 */
void cluster_set_master_link(cluster_t *c, int up, uint64_t last_ms);

enum { CLUSTER_FAILOVER_DEFAULT = 0, CLUSTER_FAILOVER_FORCE = 1, CLUSTER_FAILOVER_TAKEOVER = 2 };
/*
 * CLUSTER FAILOVER [FORCE|TAKEOVER] (mode CLUSTER_FAILOVER_*; the command maps
 * another argument to "ERR syntax error"). Errors, as Redis 7.0.15:
 *   "ERR You should send CLUSTER FAILOVER to a replica"
 *   "ERR I'm a replica but my master is unknown to me"
 *   "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE" (default
 *     mode only: master FAIL or no link to it).
 * DEFAULT sends MFSTART to the master and returns at once (the failover goes on
 * in cluster_tick / cluster_on_msg); FORCE starts an election without delay;
 * TAKEOVER promotes us at once with a new configEpoch (no election). Returns 0
 * (reply +OK) or -1 with err.
 */
int cluster_failover_start(cluster_t *c, int mode, char *err, size_t cap, uint64_t now_ms);
/*
 * SHUTDOWN of a master: if myself is a master serving slots with a reachable
 * replica that may fail over, the best one (highest replication offset as
 * gossiped, then smallest id) is sent an MFSTART carrying FORCEACK and our
 * final offset; a Tessera replica then takes over as in a manual failover as
 * soon as it has processed that offset (within CLUSTER_MF_TIMEOUT). Redis 7.0
 * nodes ignore an MFSTART from their master, so a Redis replica simply fails
 * over after node_timeout as usual. Returns the chosen replica or NULL. Call it
 * after the last write was propagated (writes stopped); the message is in the
 * outbox: run the transport's before_sleep/flush before closing the bus links.
 */
cnode_t *cluster_shutdown_handoff(cluster_t *c, uint64_t now_ms);
/*
 * The server has begun (on = 1) or abandoned (on = 0) a shutdown. While it is
 * shutting down, myself takes no part in failovers: it grants no vote, ignores
 * a hand-over from its master and starts no election. When a whole cluster is
 * stopped at once (docker stop of every node, a host reboot) this keeps one
 * master's hand-over from promoting a replica that is about to exit too.
 */
void cluster_set_shutting_down(cluster_t *c, int on);

/* Election phases (replica side, see cluster_election.c). */
enum {
    CLUSTER_ELECTION_NONE = 0,    /* no election scheduled */
    CLUSTER_ELECTION_DELAY = 1,   /* scheduled: waiting for the start time */
    CLUSTER_ELECTION_VOTING = 2,  /* FAILOVER_AUTH_REQUEST sent, counting ACKs */
    CLUSTER_ELECTION_EXPIRED = 3  /* timed out: waiting for the retry time */
};
int cluster_election_phase(const cluster_t *c);
/* Why the last election step could not go on (Redis's cant_failover_reason). */
enum {
    CLUSTER_CANT_FAILOVER_NONE = 0,
    CLUSTER_CANT_FAILOVER_DATA_AGE = 1,
    CLUSTER_CANT_FAILOVER_WAITING_DELAY = 2,
    CLUSTER_CANT_FAILOVER_EXPIRED = 3,
    CLUSTER_CANT_FAILOVER_WAITING_VOTES = 4
};
int cluster_cant_failover_reason(const cluster_t *c);
/* Manual failover phases (see cluster_mf.c). */
enum {
    CLUSTER_MF_NONE = 0,
    CLUSTER_MF_WAIT_OFFSET = 1, /* replica: MFSTART sent, waiting for the paused offset */
    CLUSTER_MF_CATCH_UP = 2,    /* replica: replaying up to the master's offset */
    CLUSTER_MF_ELECTION = 3,    /* replica: may start: election with FORCEACK */
    CLUSTER_MF_PAUSED = 4       /* master: writes paused for a replica's failover */
};
int cluster_mf_phase(const cluster_t *c);

/* Checks every invariant above; logs and aborts on a violation. Always compiled
 * (unit tests call it); in DEBUG_ASSERT builds the state machine runs it after
 * every message and every tick. */
void cluster_validate(const cluster_t *c);

#endif

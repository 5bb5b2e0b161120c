/*
 * nodes_conf.h — the nodes.conf / CLUSTER NODES text codec (pure), Redis 7.0.15's
 * exact format.
 *
 * Owns: parsing a nodes.conf buffer into node records + vars, and formatting one
 * node line (shared by the file and CLUSTER NODES) and the vars line.
 * Must not: do I/O (see nodes_conf_io.h), log, or resolve node references into a
 * node table — that is the cluster state's job.
 * Invariants: a successful parse has exactly one node flagged myself; node ids are
 * 40 hex chars; every slot number is < 16384; parse→format of a file written by
 * Redis 7.0.15 gives back the same bytes.
 *
 * Line format (one per node, fields separated by one space, '\n' terminated):
 *   <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master-id|-> <ping_sent>
 *   <pong_recv> <configEpoch> <connected|disconnected> [<slot>|<a>-<b>]...
 *   [[<slot>->-<id>]]... [[<slot>-<-<id>]]...
 * flags: comma list in the order myself,master,slave,fail?,fail,handshake,noaddr,
 * nofailover; "noflags" when none. Redis 7.0 writes ",<hostname>" only when the
 * node has a hostname and writes no other aux field; file and CLUSTER NODES lines
 * are identical (the file omits nodes in handshake; the caller filters them).
 * Last line: "vars currentEpoch <n> lastVoteEpoch <n>".
 * Load rules mirrored from Redis 7.0.15: a zero-length buffer means "no config"
 * (fresh node); blank lines are skipped; a node line needs >= 8 fields; the vars
 * line may be missing (epochs stay 0) and may carry unknown variables (skipped and
 * counted); anything else malformed is an error naming the line.
 */
#ifndef TESSERA_NODES_CONF_H
#define TESSERA_NODES_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/bus_msg.h" /* BUS_NODE_* flag bits, BUS_SLOT_BYTES, bus_slot_* */

enum nodes_conf_status { NODES_CONF_OK = 0, NODES_CONF_ERR = -1 };

#define NODES_CONF_IDLEN 40

/* A slot being migrated to / imported from another node (myself only). */
typedef struct nodes_conf_mig_s {
    uint16_t slot;
    char node[NODES_CONF_IDLEN + 1];
} nodes_conf_mig_t;

typedef struct nodes_conf_node_s {
    char id[NODES_CONF_IDLEN + 1];     /* NUL-terminated */
    char ip[BUS_IPLEN];                /* NUL-terminated, may be empty */
    int port;                          /* 0..65535 */
    int cport;                         /* 0..65535 */
    char *hostname;                    /* owned (mem.h); NULL = no hostname */
    uint32_t flags;                    /* BUS_NODE_* bits (MYSELF, MASTER, SLAVE,
                                        * PFAIL, FAIL, HANDSHAKE, NOADDR, NOFAILOVER) */
    char master[NODES_CONF_IDLEN + 1]; /* "" when the field is "-" */
    uint64_t ping_sent;                /* ms as written (Redis: 0 or a timestamp) */
    uint64_t pong_recv;
    uint64_t config_epoch; /* as written; Redis prints a replica's master's epoch */
    int connected;         /* 1 = "connected", 0 = "disconnected" */
    uint8_t slots[BUS_SLOT_BYTES];
    int num_slots;
    nodes_conf_mig_t *migrating; /* owned; slot -> node, in file order */
    size_t n_migrating;
    nodes_conf_mig_t *importing; /* owned; slot <- node, in file order */
    size_t n_importing;
} nodes_conf_node_t;

typedef struct nodes_conf_s {
    nodes_conf_node_t *nodes; /* owned array of n_nodes */
    size_t n_nodes;
    size_t myself; /* index into nodes; valid when n_nodes > 0 */
    int has_vars;  /* a vars line was present */
    uint64_t current_epoch;
    uint64_t last_vote_epoch;
    unsigned unknown_vars; /* vars skipped as unknown (Redis logs a warning each) */
} nodes_conf_t;

typedef struct nodes_conf_err_s {
    unsigned line; /* 1-based line of the error; 0 = the file as a whole */
    char msg[160]; /* reason, NUL-terminated */
} nodes_conf_err_t;

/*
 * Parses buf[0, len). On NODES_CONF_OK, *out owns its arrays (free with
 * nodes_conf_free); len == 0 gives n_nodes == 0 (no config: start fresh). On
 * NODES_CONF_ERR, *out is left empty (nothing to free, nodes_conf_free is still
 * safe) and err names the line and reason; the caller refuses to start with
 * "Unrecoverable error: corrupted cluster config file" plus err. Rejected: node
 * lines with fewer than 8 fields, ids that are not 40 hex chars, a bad address
 * (no ':', bad port, missing '@cport'... Redis 7.0 infers cport = port + 10000
 * when '@' is absent, so that is accepted), unknown flags, a bad master field,
 * non-numeric counters/epochs, a link state other than connected/disconnected,
 * slot numbers or ranges outside 0..16383 or reversed, malformed migration
 * markers, duplicate node ids, a second myself, a vars line with an odd field
 * count or non-numeric epochs, and a non-empty file with no myself line.
 */
int nodes_conf_parse(const char *buf, size_t len, nodes_conf_t *out, nodes_conf_err_t *err);

/* Frees what nodes_conf_parse allocated and leaves *c empty. */
void nodes_conf_free(nodes_conf_t *c);

/* Frees what a node record owns (hostname, migration lists). */
void nodes_conf_node_deinit(nodes_conf_node_t *n);

/*
 * Formats one node line, '\n' included, snprintf-style: writes at most cap bytes
 * (NUL-terminated when cap > 0) and returns the full length the line needs
 * (excluding the NUL); a return >= cap means truncated. for_file selects the
 * nodes.conf form; in Redis 7.0 both forms are the same bytes (there are no aux
 * fields to hide from clients), the flag exists so that later versions' aux
 * fields can be added without changing callers. Migration markers are printed
 * for any node that has them (Redis only ever has them on myself).
 */
size_t nodes_conf_format_node(char *buf, size_t cap, const nodes_conf_node_t *n, int for_file);

/* "vars currentEpoch <n> lastVoteEpoch <n>\n", snprintf-style like above. */
size_t nodes_conf_format_vars(char *buf, size_t cap, uint64_t current_epoch,
                              uint64_t last_vote_epoch);

/* The whole file: every node line in order, then the vars line. Returns a
 * NUL-terminated mem_alloc'd buffer (free with mem_free), *len_out its length. */
char *nodes_conf_format_file(const nodes_conf_t *c, size_t *len_out);

/* Flags text as Redis prints it ("myself,master", "slave,fail?", "noflags"). */
size_t nodes_conf_format_flags(char *buf, size_t cap, uint32_t flags);

/* 1 if s[0, len) is a valid node id (40 hex chars). */
int nodes_conf_valid_id(const char *s, size_t len);

#endif

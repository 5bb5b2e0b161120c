/*
 * bus_msg.h — the Redis 7.0 cluster bus message codec (pure).
 *
 * Owns: the wire layout of every cluster bus message (signature "RCmb", protocol
 * version 1, the 2256-byte header, 104-byte gossip entries, ping extensions, and
 * the FAIL / PUBLISH / PUBLISHSHARD / UPDATE / MODULE bodies), the length rules a
 * receiver applies per type, and the encoders that build each message.
 * Must not: do I/O, log, keep state between calls, or know about nodes, links or
 * time. The state machine interprets decoded messages; the transport moves bytes.
 * Invariants: every multi-byte field is big-endian on the wire and is read and
 * written field by field (no struct overlay); the decoder never reads outside
 * [buf, buf + totlen) and rejects anything whose lengths do not add up exactly as
 * Redis 7.0 checks them; decoded pointers borrow from the input buffer and stay
 * valid as long as it does.
 *
 * Wire layout (offsets in bytes, all checked by _Static_assert in bus_msg.c):
 *   0 sig[4] "RCmb" | 4 totlen u32 | 8 ver u16 (=1) | 10 port u16 | 12 type u16 |
 *   14 count u16 | 16 currentEpoch u64 | 24 configEpoch u64 | 32 offset u64 |
 *   40 sender[40] | 80 myslots[2048] | 2128 slaveof[40] (all zero = no master) |
 *   2168 myip[46] | 2214 extensions u16 | 2216 notused1[30] | 2246 pport u16 |
 *   2248 cport u16 | 2250 flags u16 | 2252 state u8 | 2253 mflags[3] | 2256 data.
 * Data by type (totlen must equal exactly, as Redis 7.0's receiver requires):
 *   PING/PONG/MEET  2256 + count*104 [+ sum of extension lengths if mflags[0] has
 *                   EXT_DATA; then `extensions` entries {length u32, type u16,
 *                   unused u16, payload}, each length a multiple of 8, >= 8]
 *   FAIL            2256 + 40  {nodename[40]}
 *   PUBLISH(SHARD)  2256 + 8 + channel_len + message_len
 *                   {channel_len u32, message_len u32, channel bytes, message bytes}
 *   AUTH_REQUEST, AUTH_ACK, MFSTART   2256 (header only)
 *   UPDATE          2256 + 2096 {configEpoch u64, nodename[40], slots[2048]}
 *   MODULE          2256 + 13 + len {module_id u64, len u32, type u8, data[len]}
 *   unknown types   any totlen >= 2256 (Redis assumes them well formed; the
 *                   state machine ignores them)
 * Gossip entry (104): name[40] ping_sent u32 pong_received u32 ip[46] port u16
 *   cport u16 flags u16 pport u16 notused1 u16.
 * Slot bitmaps: slot s is bit (s & 7) of byte s >> 3 (least significant bit first).
 */
#ifndef TESSERA_BUS_MSG_H
#define TESSERA_BUS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define BUS_SIG "RCmb"
#define BUS_PROTO_VER 1
#define BUS_NAMELEN 40 /* node ids: 40 hex chars, not NUL-terminated */
#define BUS_IPLEN 46   /* NET_IP_STR_LEN: NUL-padded text address */
#define BUS_SLOTS 16384
#define BUS_SLOT_BYTES 2048 /* BUS_SLOTS / 8 */
#define BUS_HDR_LEN 2256    /* header without the data union (CLUSTERMSG_MIN_LEN) */
#define BUS_GOSSIP_LEN 104
#define BUS_EXT_HDR_LEN 8
#define BUS_PEEK_LEN 8 /* bytes bus_msg_peek needs: sig + totlen */
#define BUS_FAIL_LEN (BUS_HDR_LEN + BUS_NAMELEN)
#define BUS_UPDATE_LEN (BUS_HDR_LEN + 8 + BUS_NAMELEN + BUS_SLOT_BYTES) /* 4352 */
#define BUS_PUBLISH_MIN_LEN (BUS_HDR_LEN + 8)
#define BUS_MODULE_MIN_LEN (BUS_HDR_LEN + 13)
/*
 * Largest totlen accepted. Redis 7.0 has no cap (it allocates whatever totlen
 * says); we refuse more than 1 GiB + 64 KiB so a corrupt or hostile length cannot
 * make us buffer gigabytes. The biggest legitimate message is a PUBLISH whose
 * channel and message are each at most proto-max-bulk-len (512 MiB by default).
 */
#define BUS_MSG_MAX_LEN ((uint32_t)(1u << 30) + 65536u)

/* Return codes of peek/decode. */
enum bus_status { BUS_OK = 0, BUS_AGAIN = 1, BUS_ERR = -1 };

/* Message types (header `type`). */
enum bus_type {
    BUS_TYPE_PING = 0,
    BUS_TYPE_PONG = 1,
    BUS_TYPE_MEET = 2,
    BUS_TYPE_FAIL = 3,
    BUS_TYPE_PUBLISH = 4,
    BUS_TYPE_FAILOVER_AUTH_REQUEST = 5,
    BUS_TYPE_FAILOVER_AUTH_ACK = 6,
    BUS_TYPE_UPDATE = 7,
    BUS_TYPE_MFSTART = 8,
    BUS_TYPE_MODULE = 9,
    BUS_TYPE_PUBLISHSHARD = 10,
    BUS_TYPE_COUNT = 11
};

/* Node flags (header `flags`, gossip `flags`; also the nodes.conf flag bits). */
enum bus_node_flag {
    BUS_NODE_MASTER = 1,
    BUS_NODE_SLAVE = 2,
    BUS_NODE_PFAIL = 4,
    BUS_NODE_FAIL = 8,
    BUS_NODE_MYSELF = 16,
    BUS_NODE_HANDSHAKE = 32,
    BUS_NODE_NOADDR = 64,
    BUS_NODE_MEET = 128,
    BUS_NODE_MIGRATE_TO = 256,
    BUS_NODE_NOFAILOVER = 512,
    BUS_NODE_EXTENSIONS_SUPPORTED = 1024 /* 7.2+; 7.0.15 never sets it */
};

/* mflags[0] bits. */
enum bus_mflag0 { BUS_MF_PAUSED = 1, BUS_MF_FORCEACK = 2, BUS_MF_EXT_DATA = 4 };

/* Header `state`: the sender's view of the cluster. */
enum bus_cluster_state { BUS_STATE_OK = 0, BUS_STATE_FAIL = 1 };

/* Ping extension types. Redis 7.0.15 sends only HOSTNAME (and only when
 * cluster-announce-hostname is set) and ignores the others; 7.2 added 1..3. */
enum bus_ext_type {
    BUS_EXT_HOSTNAME = 0,
    BUS_EXT_HUMAN_NODENAME = 1,
    BUS_EXT_FORGOTTEN_NODE = 2, /* payload {name[40], ttl u64 seconds} */
    BUS_EXT_SHARDID = 3         /* payload {shard_id[40]} */
};
#define BUS_EXT_FORGOTTEN_LEN (BUS_NAMELEN + 8)
#define BUS_EXT_SHARDID_LEN BUS_NAMELEN

/* The header, decoded to host order. Also the input of every encoder. */
typedef struct bus_hdr_s {
    uint32_t totlen; /* decode: from the wire; encoders compute their own */
    uint16_t ver;    /* decode: always BUS_PROTO_VER; encoders write BUS_PROTO_VER */
    uint16_t port;   /* sender's client port (TLS port when TLS is on) */
    uint16_t type;   /* decode: raw type; encoders take the type as argument */
    uint16_t count;  /* gossip entries (PING/PONG/MEET), else 0 */
    uint64_t current_epoch;
    uint64_t config_epoch; /* a replica sends its master's */
    uint64_t offset;       /* replication offset */
    char sender[BUS_NAMELEN];
    uint8_t myslots[BUS_SLOT_BYTES]; /* a replica sends its master's slots */
    char slaveof[BUS_NAMELEN];       /* all zero bytes = no master */
    char myip[BUS_IPLEN];            /* NUL-padded; empty = use the peer address */
    uint16_t extensions;             /* ping extension count */
    uint8_t notused1[30];            /* zero from Redis; kept for exact re-encoding */
    uint16_t pport;                  /* the other (plaintext) client port, or 0 */
    uint16_t cport;                  /* sender's bus port */
    uint16_t flags;                  /* BUS_NODE_* of the sender */
    uint8_t state;                   /* BUS_STATE_* */
    uint8_t mflags[3];               /* mflags[0]: BUS_MF_*; [1], [2] unused */
} bus_hdr_t;

/* One gossip entry, decoded. */
typedef struct bus_gossip_s {
    char name[BUS_NAMELEN];
    uint32_t ping_sent;     /* seconds (Redis sends node->ping_sent / 1000) */
    uint32_t pong_received; /* seconds */
    char ip[BUS_IPLEN];     /* NUL-padded */
    uint16_t port, cport, flags, pport, notused1;
} bus_gossip_t;

/*
 * One ping extension. Decoding fills every field that applies; encoders read
 * only the fields named for the type:
 *   HOSTNAME, HUMAN_NODENAME: str/str_len (encoded as the bytes, a NUL, zero
 *     padding to a multiple of 8 — exactly Redis's layout);
 *   FORGOTTEN_NODE: name + ttl;  SHARDID: name;
 *   any other type: payload/payload_len (zero padded to a multiple of 8).
 */
typedef struct bus_ext_s {
    uint16_t type;
    uint32_t length;        /* decode: wire length including the 8-byte header */
    const uint8_t *payload; /* borrowed: the bytes after the extension header */
    size_t payload_len;     /* length - 8 */
    const char *str;        /* string types: payload up to the first NUL */
    size_t str_len;
    const char *name; /* FORGOTTEN_NODE, SHARDID: 40 bytes, borrowed */
    uint64_t ttl;     /* FORGOTTEN_NODE: seconds */
} bus_ext_t;

/* Convenience constructors for encoders (the strings/names are borrowed). */
bus_ext_t bus_ext_hostname(const char *s, size_t len);
bus_ext_t bus_ext_human_nodename(const char *s, size_t len);
bus_ext_t bus_ext_forgotten_node(const char *name40, uint64_t ttl_s);
bus_ext_t bus_ext_shardid(const char *name40);

/* A decoded message. Pointers borrow from the buffer given to bus_msg_decode. */
typedef struct bus_msg_s {
    bus_hdr_t hdr;
    const uint8_t *raw; /* the whole message, hdr.totlen bytes */
    union {
        struct {                   /* PING, PONG, MEET */
            const uint8_t *gossip; /* hdr.count entries of BUS_GOSSIP_LEN */
            const uint8_t *ext;    /* first extension, NULL if none */
            size_t ext_bytes;      /* total bytes of extensions */
            uint16_t ext_count;    /* extensions walked (0 without EXT_DATA) */
            const char *hostname;  /* last HOSTNAME ext seen, NULL if none */
            size_t hostname_len;
            const char *human_nodename; /* last HUMAN_NODENAME ext, NULL if none */
            size_t human_nodename_len;
            const char *shard_id;     /* SHARDID ext (40 bytes), NULL if none */
            uint16_t forgotten_count; /* FORGOTTEN_NODE extensions present */
        } ping;
        struct {
            const char *nodename; /* 40 bytes */
        } fail;
        struct { /* PUBLISH, PUBLISHSHARD */
            const uint8_t *channel;
            uint32_t channel_len;
            const uint8_t *message;
            uint32_t message_len;
        } publish;
        struct {
            uint64_t config_epoch;
            const char *nodename; /* 40 bytes */
            const uint8_t *slots; /* BUS_SLOT_BYTES */
        } update;
        struct {
            uint64_t module_id;
            uint8_t type;
            uint32_t len;
            const uint8_t *data;
        } module;
    } u;
} bus_msg_t;

/*
 * Frames the stream: looks at the first 8 bytes of buf. Returns BUS_AGAIN if
 * len < BUS_PEEK_LEN; BUS_ERR if the signature is not "RCmb" or the length is
 * below BUS_HDR_LEN (Redis 7.0 closes the link then) or above BUS_MSG_MAX_LEN;
 * otherwise BUS_OK with *totlen set (the transport then waits for totlen bytes).
 */
int bus_msg_peek(const uint8_t *buf, size_t len, uint32_t *totlen);

/*
 * Decodes and fully validates one message: signature, totlen (as in peek, and
 * totlen <= len: bytes past totlen are ignored, fewer is an error), version == 1,
 * and the exact per-type length rule above, walking every extension inside
 * bounds (length >= 8, multiple of 8, known types' payload sizes respected).
 * Unknown types decode as header only (BUS_OK). Returns BUS_OK and fills *out, or
 * BUS_ERR with a NUL-terminated reason in err (if errcap > 0). Never reads
 * outside buf[0, len).
 */
int bus_msg_decode(const uint8_t *buf, size_t len, bus_msg_t *out, char *err, size_t errcap);

/* Entry i (< hdr.count) of a decoded PING/PONG/MEET. */
void bus_msg_gossip(const bus_msg_t *m, uint16_t i, bus_gossip_t *out);

/* Iteration over the extensions of a decoded PING/PONG/MEET, in wire order:
 *   bus_ext_iter_t it; bus_ext_t e;
 *   bus_msg_ext_first(m, &it); while (bus_msg_ext_next(&it, &e)) ...      */
typedef struct bus_ext_iter_s {
    const uint8_t *p;
    uint16_t left;
} bus_ext_iter_t;
void bus_msg_ext_first(const bus_msg_t *m, bus_ext_iter_t *it);
int bus_msg_ext_next(bus_ext_iter_t *it, bus_ext_t *out); /* 1 = *out filled, 0 = end */

/* Name of a type as CLUSTER INFO prints it ("ping", "auth-req", ...; "unknown"). */
const char *bus_type_name(uint16_t type);

/* ---- encoding ----------------------------------------------------------- */

/*
 * A growable output buffer. bus_buf_init may hand it caller storage (for example
 * a stack array of BUS_UPDATE_LEN bytes) so that the common case allocates
 * nothing; it moves to the heap (mem.h) only when a message does not fit.
 * Builders append one message at data + len and return its length.
 */
typedef struct bus_buf_s {
    uint8_t *data;
    size_t len;
    size_t cap;
    int heap; /* data is ours (mem_alloc'd) */
} bus_buf_t;

void bus_buf_init(bus_buf_t *b, uint8_t *storage, size_t cap); /* storage may be NULL */
void bus_buf_deinit(bus_buf_t *b);                             /* frees heap storage */
void bus_buf_reset(bus_buf_t *b);                              /* len = 0, keeps storage */
uint8_t *bus_buf_reserve(bus_buf_t *b, size_t n); /* room for n more bytes at data+len */

/*
 * Writes the BUS_HDR_LEN header bytes of h into buf with the given type, taking
 * totlen, count, extensions and mflags from h as they are (builders set them).
 * "RCmb" and ver = 1 are always written. Returns BUS_HDR_LEN.
 */
size_t bus_msg_encode_header(uint8_t *buf, const bus_hdr_t *h, uint16_t type);

/*
 * PING, PONG or MEET with ng gossip entries and next extensions. count and
 * extensions come from ng/next; when next > 0 BUS_MF_EXT_DATA is or-ed into
 * mflags[0] (other mflags bits are kept from h). Returns the message length.
 */
size_t bus_msg_build_ping(bus_buf_t *b, const bus_hdr_t *h, uint16_t type, const bus_gossip_t *g,
                          uint16_t ng, const bus_ext_t *ext, uint16_t next);
/* The builders below write count = 0 and extensions = 0 whatever h holds. */
/* FAIL about the node named by name40. */
size_t bus_msg_build_fail(bus_buf_t *b, const bus_hdr_t *h, const char *name40);
/* UPDATE: config_epoch and slots of the node named by name40. */
size_t bus_msg_build_update(bus_buf_t *b, const bus_hdr_t *h, uint64_t config_epoch,
                            const char *name40, const uint8_t *slots);
/* PUBLISH or PUBLISHSHARD (type). */
size_t bus_msg_build_publish(bus_buf_t *b, const bus_hdr_t *h, uint16_t type, const void *channel,
                             uint32_t channel_len, const void *message, uint32_t message_len);
/* Header-only messages: FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART. */
size_t bus_msg_build_auth_request(bus_buf_t *b, const bus_hdr_t *h);
size_t bus_msg_build_auth_ack(bus_buf_t *b, const bus_hdr_t *h);
size_t bus_msg_build_mfstart(bus_buf_t *b, const bus_hdr_t *h);
/* MODULE message (module API cluster messages). */
size_t bus_msg_build_module(bus_buf_t *b, const bus_hdr_t *h, uint64_t module_id, uint8_t mtype,
                            const void *data, uint32_t len);

/* Encodes one gossip entry into 104 bytes at p. */
void bus_gossip_encode(uint8_t *p, const bus_gossip_t *g);

/* ---- slot bitmaps (bus, UPDATE and nodes.conf share this bit order) ----- */
static inline int bus_slot_test(const uint8_t *bm, unsigned slot)
{
    return (bm[slot >> 3] >> (slot & 7)) & 1;
}
static inline void bus_slot_set(uint8_t *bm, unsigned slot)
{
    bm[slot >> 3] = (uint8_t)(bm[slot >> 3] | (1u << (slot & 7)));
}
static inline void bus_slot_clear(uint8_t *bm, unsigned slot)
{
    bm[slot >> 3] = (uint8_t)(bm[slot >> 3] & ~(1u << (slot & 7)));
}

#endif

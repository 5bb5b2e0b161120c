/*
 * bus_msg.c — the Redis 7.0 cluster bus message codec (see bus_msg.h for the
 * layout and the length rules).
 *
 * Owns: field-by-field big-endian encoding and decoding, the per-type totlen
 * checks, the extension walk, and the bus_buf_t growable output buffer.
 * Must not: log, allocate while decoding, or interpret what a message means.
 * Invariants: the decoder reads only inside [buf, buf + totlen) with totlen <= len,
 * and every offset it computes is checked against totlen before use, in 64-bit
 * arithmetic so that no sum of wire lengths can wrap.
 */
#include "cluster/bus_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/mem.h"

/* ---- layout ------------------------------------------------------------- */

enum {
    OFF_SIG = 0,
    OFF_TOTLEN = 4,
    OFF_VER = 8,
    OFF_PORT = 10,
    OFF_TYPE = 12,
    OFF_COUNT = 14,
    OFF_CURRENT_EPOCH = 16,
    OFF_CONFIG_EPOCH = 24,
    OFF_OFFSET = 32,
    OFF_SENDER = 40,
    OFF_MYSLOTS = OFF_SENDER + BUS_NAMELEN,
    OFF_SLAVEOF = OFF_MYSLOTS + BUS_SLOT_BYTES,
    OFF_MYIP = OFF_SLAVEOF + BUS_NAMELEN,
    OFF_EXTENSIONS = OFF_MYIP + BUS_IPLEN,
    OFF_NOTUSED1 = OFF_EXTENSIONS + 2,
    OFF_PPORT = OFF_NOTUSED1 + 30,
    OFF_CPORT = OFF_PPORT + 2,
    OFF_FLAGS = OFF_CPORT + 2,
    OFF_STATE = OFF_FLAGS + 2,
    OFF_MFLAGS = OFF_STATE + 1,
    OFF_DATA = OFF_MFLAGS + 3
};

/* Gossip entry offsets. */
enum {
    G_NAME = 0,
    G_PING_SENT = 40,
    G_PONG_RECEIVED = 44,
    G_IP = 48,
    G_PORT = G_IP + BUS_IPLEN,
    G_CPORT = G_PORT + 2,
    G_FLAGS = G_CPORT + 2,
    G_PPORT = G_FLAGS + 2,
    G_NOTUSED1 = G_PPORT + 2,
    G_END = G_NOTUSED1 + 2
};

_Static_assert(OFF_MYSLOTS == 80, "myslots offset");
_Static_assert(OFF_SLAVEOF == 2128, "slaveof offset");
_Static_assert(OFF_MYIP == 2168, "myip offset");
_Static_assert(OFF_EXTENSIONS == 2214, "extensions offset");
_Static_assert(OFF_PPORT == 2246, "pport offset");
_Static_assert(OFF_CPORT == 2248, "cport offset");
_Static_assert(OFF_FLAGS == 2250, "flags offset");
_Static_assert(OFF_STATE == 2252, "state offset");
_Static_assert(OFF_DATA == BUS_HDR_LEN, "header is 2256 bytes");
_Static_assert(G_END == BUS_GOSSIP_LEN, "gossip entry is 104 bytes");
_Static_assert(BUS_UPDATE_LEN == 4352, "update message is 4352 bytes");
_Static_assert(BUS_SLOT_BYTES * 8 == BUS_SLOTS, "slot bitmap size");

/* ---- byte order --------------------------------------------------------- */

static inline void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}

static inline uint16_t be16_get(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t be64_get(const uint8_t *p)
{
    return ((uint64_t)be32_get(p) << 32) | be32_get(p + 4);
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ---- errors ------------------------------------------------------------- */

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return BUS_ERR;
}

const char *bus_type_name(uint16_t type)
{
    static const char *const names[BUS_TYPE_COUNT] = {
        [BUS_TYPE_PING] = "ping",
        [BUS_TYPE_PONG] = "pong",
        [BUS_TYPE_MEET] = "meet",
        [BUS_TYPE_FAIL] = "fail",
        [BUS_TYPE_PUBLISH] = "publish",
        [BUS_TYPE_FAILOVER_AUTH_REQUEST] = "auth-req",
        [BUS_TYPE_FAILOVER_AUTH_ACK] = "auth-ack",
        [BUS_TYPE_UPDATE] = "update",
        [BUS_TYPE_MFSTART] = "mfstart",
        [BUS_TYPE_MODULE] = "module",
        [BUS_TYPE_PUBLISHSHARD] = "publishshard",
    };
    return type < BUS_TYPE_COUNT ? names[type] : "unknown";
}

/* ---- decoding ----------------------------------------------------------- */

int bus_msg_peek(const uint8_t *buf, size_t len, uint32_t *totlen)
{
    if (len < BUS_PEEK_LEN)
        return BUS_AGAIN;
    if (memcmp(buf + OFF_SIG, BUS_SIG, 4) != 0)
        return BUS_ERR;
    uint32_t t = be32_get(buf + OFF_TOTLEN);
    if (t < BUS_HDR_LEN || t > BUS_MSG_MAX_LEN)
        return BUS_ERR;
    *totlen = t;
    return BUS_OK;
}

static void decode_header(const uint8_t *b, bus_hdr_t *h)
{
    h->totlen = be32_get(b + OFF_TOTLEN);
    h->ver = be16_get(b + OFF_VER);
    h->port = be16_get(b + OFF_PORT);
    h->type = be16_get(b + OFF_TYPE);
    h->count = be16_get(b + OFF_COUNT);
    h->current_epoch = be64_get(b + OFF_CURRENT_EPOCH);
    h->config_epoch = be64_get(b + OFF_CONFIG_EPOCH);
    h->offset = be64_get(b + OFF_OFFSET);
    memcpy(h->sender, b + OFF_SENDER, BUS_NAMELEN);
    memcpy(h->myslots, b + OFF_MYSLOTS, BUS_SLOT_BYTES);
    memcpy(h->slaveof, b + OFF_SLAVEOF, BUS_NAMELEN);
    memcpy(h->myip, b + OFF_MYIP, BUS_IPLEN);
    h->extensions = be16_get(b + OFF_EXTENSIONS);
    memcpy(h->notused1, b + OFF_NOTUSED1, sizeof h->notused1);
    h->pport = be16_get(b + OFF_PPORT);
    h->cport = be16_get(b + OFF_CPORT);
    h->flags = be16_get(b + OFF_FLAGS);
    h->state = b[OFF_STATE];
    memcpy(h->mflags, b + OFF_MFLAGS, 3);
}

/* Fills the typed views of one extension whose bytes [p, p + length) are known
 * to be inside the message. Returns 0, or -1 if a known type's payload is too
 * short for its fixed fields. */
static int ext_fill(const uint8_t *p, uint32_t length, bus_ext_t *e)
{
    memset(e, 0, sizeof *e);
    e->length = length;
    e->type = be16_get(p + 4);
    e->payload = p + BUS_EXT_HDR_LEN;
    e->payload_len = length - BUS_EXT_HDR_LEN;
    switch (e->type) {
    case BUS_EXT_HOSTNAME:
    case BUS_EXT_HUMAN_NODENAME: {
        const uint8_t *nul = memchr(e->payload, 0, e->payload_len);
        e->str = (const char *)e->payload;
        e->str_len = nul ? (size_t)(nul - e->payload) : e->payload_len;
        return 0;
    }
    case BUS_EXT_FORGOTTEN_NODE:
        if (e->payload_len < BUS_EXT_FORGOTTEN_LEN)
            return -1;
        e->name = (const char *)e->payload;
        e->ttl = be64_get(e->payload + BUS_NAMELEN);
        return 0;
    case BUS_EXT_SHARDID:
        if (e->payload_len < BUS_EXT_SHARDID_LEN)
            return -1;
        e->name = (const char *)e->payload;
        return 0;
    default:
        return 0;
    }
}

/* PING/PONG/MEET: count gossip entries, then (with EXT_DATA) the extensions,
 * and nothing else. */
static int decode_ping(const uint8_t *b, bus_msg_t *m, char *err, size_t cap)
{
    const bus_hdr_t *h = &m->hdr;
    uint64_t explen = (uint64_t)BUS_HDR_LEN + (uint64_t)h->count * BUS_GOSSIP_LEN;
    if (explen > h->totlen)
        return fail(err, cap, "%s with %u gossip entries does not fit in %u bytes",
                    bus_type_name(h->type), h->count, h->totlen);
    m->u.ping.gossip = b + BUS_HDR_LEN;
    if (h->mflags[0] & BUS_MF_EXT_DATA) {
        m->u.ping.ext = h->extensions ? b + explen : NULL;
        for (uint16_t i = 0; i < h->extensions; i++) {
            if (h->totlen - explen < BUS_EXT_HDR_LEN)
                return fail(err, cap, "%s extension %u header past the end", bus_type_name(h->type),
                            i);
            const uint8_t *p = b + explen;
            uint32_t elen = be32_get(p);
            bus_ext_t e;
            if (elen < BUS_EXT_HDR_LEN || elen % 8 != 0)
                return fail(err, cap, "%s extension %u has a bad length %u", bus_type_name(h->type),
                            i, elen);
            if (elen > h->totlen - explen)
                return fail(err, cap, "%s extension %u exceeds the packet length %u",
                            bus_type_name(h->type), i, h->totlen);
            if (ext_fill(p, elen, &e) != 0)
                return fail(err, cap, "%s extension %u of type %u is too short",
                            bus_type_name(h->type), i, e.type);
            if (e.type == BUS_EXT_HOSTNAME) {
                m->u.ping.hostname = e.str;
                m->u.ping.hostname_len = e.str_len;
            } else if (e.type == BUS_EXT_HUMAN_NODENAME) {
                m->u.ping.human_nodename = e.str;
                m->u.ping.human_nodename_len = e.str_len;
            } else if (e.type == BUS_EXT_SHARDID) {
                m->u.ping.shard_id = e.name;
            } else if (e.type == BUS_EXT_FORGOTTEN_NODE) {
                m->u.ping.forgotten_count++;
            }
            explen += elen;
        }
        m->u.ping.ext_count = h->extensions;
        m->u.ping.ext_bytes = (size_t)(explen - BUS_HDR_LEN - (uint64_t)h->count * BUS_GOSSIP_LEN);
    }
    if (explen != h->totlen)
        return fail(err, cap, "%s of length %u but expected length %llu", bus_type_name(h->type),
                    h->totlen, (unsigned long long)explen);
    return BUS_OK;
}

static int expect_len(const bus_hdr_t *h, uint64_t explen, char *err, size_t cap)
{
    if (h->totlen != explen)
        return fail(err, cap, "%s of length %u but expected length %llu", bus_type_name(h->type),
                    h->totlen, (unsigned long long)explen);
    return BUS_OK;
}

static int decode_body(const uint8_t *b, bus_msg_t *m, char *err, size_t cap)
{
    const bus_hdr_t *h = &m->hdr;
    const uint8_t *d = b + BUS_HDR_LEN;
    switch (h->type) {
    case BUS_TYPE_PING:
    case BUS_TYPE_PONG:
    case BUS_TYPE_MEET:
        return decode_ping(b, m, err, cap);
    case BUS_TYPE_FAIL:
        m->u.fail.nodename = (const char *)d;
        return expect_len(h, BUS_FAIL_LEN, err, cap);
    case BUS_TYPE_PUBLISH:
    case BUS_TYPE_PUBLISHSHARD: {
        if (h->totlen < BUS_PUBLISH_MIN_LEN)
            return expect_len(h, BUS_PUBLISH_MIN_LEN, err, cap);
        uint32_t clen = be32_get(d), mlen = be32_get(d + 4);
        if (expect_len(h, (uint64_t)BUS_PUBLISH_MIN_LEN + clen + mlen, err, cap) != BUS_OK)
            return BUS_ERR;
        m->u.publish.channel_len = clen;
        m->u.publish.message_len = mlen;
        m->u.publish.channel = d + 8;
        m->u.publish.message = d + 8 + clen;
        return BUS_OK;
    }
    case BUS_TYPE_FAILOVER_AUTH_REQUEST:
    case BUS_TYPE_FAILOVER_AUTH_ACK:
    case BUS_TYPE_MFSTART:
        return expect_len(h, BUS_HDR_LEN, err, cap);
    case BUS_TYPE_UPDATE:
        if (expect_len(h, BUS_UPDATE_LEN, err, cap) != BUS_OK)
            return BUS_ERR;
        m->u.update.config_epoch = be64_get(d);
        m->u.update.nodename = (const char *)d + 8;
        m->u.update.slots = d + 8 + BUS_NAMELEN;
        return BUS_OK;
    case BUS_TYPE_MODULE:
        if (h->totlen < BUS_MODULE_MIN_LEN)
            return expect_len(h, BUS_MODULE_MIN_LEN, err, cap);
        if (expect_len(h, (uint64_t)BUS_MODULE_MIN_LEN + be32_get(d + 8), err, cap) != BUS_OK)
            return BUS_ERR;
        m->u.module.module_id = be64_get(d);
        m->u.module.len = be32_get(d + 8);
        m->u.module.type = d[12];
        m->u.module.data = d + 13;
        return BUS_OK;
    default:
        return BUS_OK; /* Redis treats unknown types as well formed. */
    }
}

int bus_msg_decode(const uint8_t *buf, size_t len, bus_msg_t *out, char *err, size_t errcap)
{
    uint32_t totlen = 0;
    memset(out, 0, sizeof *out);
    if (err && errcap > 0)
        err[0] = '\0';
    int rc = bus_msg_peek(buf, len, &totlen);
    if (rc == BUS_AGAIN)
        return fail(err, errcap, "truncated message: %zu bytes, the header needs %d", len,
                    BUS_HDR_LEN);
    if (rc == BUS_ERR)
        return fail(err, errcap, "bad message length or signature");
    if (len < totlen)
        return fail(err, errcap, "truncated message: %zu of %u bytes", len, totlen);
    decode_header(buf, &out->hdr);
    out->raw = buf;
    if (out->hdr.ver != BUS_PROTO_VER)
        return fail(err, errcap, "unsupported bus protocol version %u", out->hdr.ver);
    rc = decode_body(buf, out, err, errcap);
    if (rc != BUS_OK) {
        bus_hdr_t keep = out->hdr;
        memset(&out->u, 0, sizeof out->u);
        out->hdr = keep;
    }
    return rc;
}

void bus_msg_gossip(const bus_msg_t *m, uint16_t i, bus_gossip_t *g)
{
    const uint8_t *p = m->u.ping.gossip + (size_t)i * BUS_GOSSIP_LEN;
    memcpy(g->name, p + G_NAME, BUS_NAMELEN);
    g->ping_sent = be32_get(p + G_PING_SENT);
    g->pong_received = be32_get(p + G_PONG_RECEIVED);
    memcpy(g->ip, p + G_IP, BUS_IPLEN);
    g->port = be16_get(p + G_PORT);
    g->cport = be16_get(p + G_CPORT);
    g->flags = be16_get(p + G_FLAGS);
    g->pport = be16_get(p + G_PPORT);
    g->notused1 = be16_get(p + G_NOTUSED1);
}

void bus_msg_ext_first(const bus_msg_t *m, bus_ext_iter_t *it)
{
    it->p = m->u.ping.ext;
    it->left = it->p ? m->u.ping.ext_count : 0;
}

int bus_msg_ext_next(bus_ext_iter_t *it, bus_ext_t *out)
{
    if (it->left == 0)
        return 0;
    uint32_t elen = be32_get(it->p);
    ext_fill(it->p, elen, out); /* decode validated every extension */
    it->p += elen;
    it->left--;
    return 1;
}

/* ---- extension constructors --------------------------------------------- */

bus_ext_t bus_ext_hostname(const char *s, size_t len)
{
    bus_ext_t e = {.type = BUS_EXT_HOSTNAME, .str = s, .str_len = len};
    return e;
}

bus_ext_t bus_ext_human_nodename(const char *s, size_t len)
{
    bus_ext_t e = {.type = BUS_EXT_HUMAN_NODENAME, .str = s, .str_len = len};
    return e;
}

bus_ext_t bus_ext_forgotten_node(const char *name40, uint64_t ttl_s)
{
    bus_ext_t e = {.type = BUS_EXT_FORGOTTEN_NODE, .name = name40, .ttl = ttl_s};
    return e;
}

bus_ext_t bus_ext_shardid(const char *name40)
{
    bus_ext_t e = {.type = BUS_EXT_SHARDID, .name = name40};
    return e;
}

/* ---- output buffer ------------------------------------------------------ */

void bus_buf_init(bus_buf_t *b, uint8_t *storage, size_t cap)
{
    b->data = storage;
    b->len = 0;
    b->cap = storage ? cap : 0;
    b->heap = 0;
}

void bus_buf_deinit(bus_buf_t *b)
{
    if (b->heap)
        mem_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->heap = 0;
}

void bus_buf_reset(bus_buf_t *b)
{
    b->len = 0;
}

uint8_t *bus_buf_reserve(bus_buf_t *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t want = b->len + n;
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < want)
            ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
        if (b->heap) {
            b->data = mem_realloc(b->data, ncap);
        } else {
            uint8_t *p = mem_alloc(ncap);
            if (b->len)
                memcpy(p, b->data, b->len);
            b->data = p;
            b->heap = 1;
        }
        b->cap = ncap;
    }
    return b->data + b->len;
}

/* ---- encoding ----------------------------------------------------------- */

size_t bus_msg_encode_header(uint8_t *b, const bus_hdr_t *h, uint16_t type)
{
    memcpy(b + OFF_SIG, BUS_SIG, 4);
    be32_put(b + OFF_TOTLEN, h->totlen);
    be16_put(b + OFF_VER, BUS_PROTO_VER);
    be16_put(b + OFF_PORT, h->port);
    be16_put(b + OFF_TYPE, type);
    be16_put(b + OFF_COUNT, h->count);
    be64_put(b + OFF_CURRENT_EPOCH, h->current_epoch);
    be64_put(b + OFF_CONFIG_EPOCH, h->config_epoch);
    be64_put(b + OFF_OFFSET, h->offset);
    memcpy(b + OFF_SENDER, h->sender, BUS_NAMELEN);
    memcpy(b + OFF_MYSLOTS, h->myslots, BUS_SLOT_BYTES);
    memcpy(b + OFF_SLAVEOF, h->slaveof, BUS_NAMELEN);
    memcpy(b + OFF_MYIP, h->myip, BUS_IPLEN);
    be16_put(b + OFF_EXTENSIONS, h->extensions);
    memcpy(b + OFF_NOTUSED1, h->notused1, sizeof h->notused1);
    be16_put(b + OFF_PPORT, h->pport);
    be16_put(b + OFF_CPORT, h->cport);
    be16_put(b + OFF_FLAGS, h->flags);
    b[OFF_STATE] = h->state;
    memcpy(b + OFF_MFLAGS, h->mflags, 3);
    return BUS_HDR_LEN;
}

void bus_gossip_encode(uint8_t *p, const bus_gossip_t *g)
{
    memcpy(p + G_NAME, g->name, BUS_NAMELEN);
    be32_put(p + G_PING_SENT, g->ping_sent);
    be32_put(p + G_PONG_RECEIVED, g->pong_received);
    memcpy(p + G_IP, g->ip, BUS_IPLEN);
    be16_put(p + G_PORT, g->port);
    be16_put(p + G_CPORT, g->cport);
    be16_put(p + G_FLAGS, g->flags);
    be16_put(p + G_PPORT, g->pport);
    be16_put(p + G_NOTUSED1, g->notused1);
}

/* Bytes one extension takes on the wire (header + payload + padding). */
static size_t ext_wire_len(const bus_ext_t *e)
{
    switch (e->type) {
    case BUS_EXT_HOSTNAME:
    case BUS_EXT_HUMAN_NODENAME:
        return BUS_EXT_HDR_LEN + align8(e->str_len + 1);
    case BUS_EXT_FORGOTTEN_NODE:
        return BUS_EXT_HDR_LEN + BUS_EXT_FORGOTTEN_LEN;
    case BUS_EXT_SHARDID:
        return BUS_EXT_HDR_LEN + BUS_EXT_SHARDID_LEN;
    default:
        return BUS_EXT_HDR_LEN + align8(e->payload_len);
    }
}

/* Writes one extension of n = ext_wire_len(e) bytes at p (zero padded). */
static void ext_encode(uint8_t *p, size_t n, const bus_ext_t *e)
{
    memset(p, 0, n);
    be32_put(p, (uint32_t)n);
    be16_put(p + 4, e->type);
    uint8_t *d = p + BUS_EXT_HDR_LEN;
    switch (e->type) {
    case BUS_EXT_HOSTNAME:
    case BUS_EXT_HUMAN_NODENAME:
        if (e->str_len)
            memcpy(d, e->str, e->str_len);
        break;
    case BUS_EXT_FORGOTTEN_NODE:
        memcpy(d, e->name, BUS_NAMELEN);
        be64_put(d + BUS_NAMELEN, e->ttl);
        break;
    case BUS_EXT_SHARDID:
        memcpy(d, e->name, BUS_NAMELEN);
        break;
    default:
        if (e->payload_len)
            memcpy(d, e->payload, e->payload_len);
        break;
    }
}

/* Reserves total bytes, writes the header of h with type/totlen set, and
 * returns the start of the message (data follows at + BUS_HDR_LEN). */
static uint8_t *start_msg(bus_buf_t *b, const bus_hdr_t *h, uint16_t type, size_t total,
                          uint16_t count, uint16_t next, uint8_t mflag0_or)
{
    uint8_t *p = bus_buf_reserve(b, total);
    bus_hdr_t hh = *h;
    hh.totlen = (uint32_t)total;
    hh.count = count;
    hh.extensions = next;
    hh.mflags[0] = (uint8_t)(hh.mflags[0] | mflag0_or);
    bus_msg_encode_header(p, &hh, type);
    return p;
}

size_t bus_msg_build_ping(bus_buf_t *b, const bus_hdr_t *h, uint16_t type, const bus_gossip_t *g,
                          uint16_t ng, const bus_ext_t *ext, uint16_t next)
{
    size_t total = BUS_HDR_LEN + (size_t)ng * BUS_GOSSIP_LEN;
    for (uint16_t i = 0; i < next; i++)
        total += ext_wire_len(&ext[i]);
    uint8_t *p = start_msg(b, h, type, total, ng, next, next ? BUS_MF_EXT_DATA : 0);
    uint8_t *q = p + BUS_HDR_LEN;
    for (uint16_t i = 0; i < ng; i++, q += BUS_GOSSIP_LEN)
        bus_gossip_encode(q, &g[i]);
    for (uint16_t i = 0; i < next; i++) {
        size_t n = ext_wire_len(&ext[i]);
        ext_encode(q, n, &ext[i]);
        q += n;
    }
    b->len += total;
    return total;
}

size_t bus_msg_build_fail(bus_buf_t *b, const bus_hdr_t *h, const char *name40)
{
    uint8_t *p = start_msg(b, h, BUS_TYPE_FAIL, BUS_FAIL_LEN, 0, 0, 0);
    memcpy(p + BUS_HDR_LEN, name40, BUS_NAMELEN);
    b->len += BUS_FAIL_LEN;
    return BUS_FAIL_LEN;
}

size_t bus_msg_build_update(bus_buf_t *b, const bus_hdr_t *h, uint64_t config_epoch,
                            const char *name40, const uint8_t *slots)
{
    uint8_t *p = start_msg(b, h, BUS_TYPE_UPDATE, BUS_UPDATE_LEN, 0, 0, 0);
    uint8_t *d = p + BUS_HDR_LEN;
    be64_put(d, config_epoch);
    memcpy(d + 8, name40, BUS_NAMELEN);
    memcpy(d + 8 + BUS_NAMELEN, slots, BUS_SLOT_BYTES);
    b->len += BUS_UPDATE_LEN;
    return BUS_UPDATE_LEN;
}

size_t bus_msg_build_publish(bus_buf_t *b, const bus_hdr_t *h, uint16_t type, const void *channel,
                             uint32_t channel_len, const void *message, uint32_t message_len)
{
    size_t total = (size_t)BUS_PUBLISH_MIN_LEN + channel_len + message_len;
    uint8_t *p = start_msg(b, h, type, total, 0, 0, 0);
    uint8_t *d = p + BUS_HDR_LEN;
    be32_put(d, channel_len);
    be32_put(d + 4, message_len);
    if (channel_len)
        memcpy(d + 8, channel, channel_len);
    if (message_len)
        memcpy(d + 8 + channel_len, message, message_len);
    b->len += total;
    return total;
}

static size_t build_header_only(bus_buf_t *b, const bus_hdr_t *h, uint16_t type)
{
    start_msg(b, h, type, BUS_HDR_LEN, 0, 0, 0);
    b->len += BUS_HDR_LEN;
    return BUS_HDR_LEN;
}

size_t bus_msg_build_auth_request(bus_buf_t *b, const bus_hdr_t *h)
{
    return build_header_only(b, h, BUS_TYPE_FAILOVER_AUTH_REQUEST);
}

size_t bus_msg_build_auth_ack(bus_buf_t *b, const bus_hdr_t *h)
{
    return build_header_only(b, h, BUS_TYPE_FAILOVER_AUTH_ACK);
}

size_t bus_msg_build_mfstart(bus_buf_t *b, const bus_hdr_t *h)
{
    return build_header_only(b, h, BUS_TYPE_MFSTART);
}

size_t bus_msg_build_module(bus_buf_t *b, const bus_hdr_t *h, uint64_t module_id, uint8_t mtype,
                            const void *data, uint32_t len)
{
    size_t total = (size_t)BUS_MODULE_MIN_LEN + len;
    uint8_t *p = start_msg(b, h, BUS_TYPE_MODULE, total, 0, 0, 0);
    uint8_t *d = p + BUS_HDR_LEN;
    be64_put(d, module_id);
    be32_put(d + 8, len);
    d[12] = mtype;
    if (len)
        memcpy(d + 13, data, len);
    b->len += total;
    return total;
}

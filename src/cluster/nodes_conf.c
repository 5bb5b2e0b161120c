/*
 * nodes_conf.c — parse and format nodes.conf / CLUSTER NODES text (see
 * nodes_conf.h for the format and the load rules, checked against a real
 * redis-server 7.0.15).
 *
 * Owns: the tokenizer for one line, the field rules, the line formatter.
 * Must not: do I/O, log, or look nodes up in a live node table.
 * Invariants: the parser reads only buf[0, len) (NUL bytes are ordinary bytes);
 * on error nothing stays allocated in *out; the formatter writes at most cap
 * bytes and always returns the full length.
 */
#include "cluster/nodes_conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"

/* ---- small helpers ------------------------------------------------------- */

typedef struct tok_s {
    const char *p;
    size_t len;
} tok_t;

static int tok_is(tok_t t, const char *word)
{
    size_t n = strlen(word);
    return t.len == n && memcmp(t.p, word, n) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Digits only, at least one, fits in uint64. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int parse_bounded(const char *s, size_t len, uint64_t max, int *out)
{
    uint64_t v;
    if (!parse_u64(s, len, &v) || v > max)
        return 0;
    *out = (int)v;
    return 1;
}

int nodes_conf_valid_id(const char *s, size_t len)
{
    if (len != NODES_CONF_IDLEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int set_err(nodes_conf_err_t *err, unsigned line, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->line = line;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return NODES_CONF_ERR;
}

/* ---- flags ---------------------------------------------------------------- */

static const struct {
    uint32_t flag;
    const char *name;
} flag_table[] = {
    {BUS_NODE_MYSELF, "myself"}, {BUS_NODE_MASTER, "master"},
    {BUS_NODE_SLAVE, "slave"},   {BUS_NODE_PFAIL, "fail?"},
    {BUS_NODE_FAIL, "fail"},     {BUS_NODE_HANDSHAKE, "handshake"},
    {BUS_NODE_NOADDR, "noaddr"}, {BUS_NODE_NOFAILOVER, "nofailover"},
};
#define N_FLAGS (sizeof flag_table / sizeof flag_table[0])

static int parse_flags(tok_t t, uint32_t *flags, char *bad, size_t badcap)
{
    size_t i = 0;
    *flags = 0;
    while (1) {
        size_t j = i;
        while (j < t.len && t.p[j] != ',')
            j++;
        tok_t f = {t.p + i, j - i};
        size_t k;
        for (k = 0; k < N_FLAGS; k++)
            if (tok_is(f, flag_table[k].name))
                break;
        if (k < N_FLAGS)
            *flags |= flag_table[k].flag;
        else if (!tok_is(f, "noflags")) {
            snprintf(bad, badcap, "%.*s", (int)(f.len > 40 ? 40 : f.len), f.p);
            return 0;
        }
        if (j == t.len)
            return 1;
        i = j + 1;
    }
}

/* ---- one node line -------------------------------------------------------- */

/* "<ip>:<port>[@<cport>][,<hostname>]" */
static int parse_addr(tok_t t, nodes_conf_node_t *n, unsigned line, nodes_conf_err_t *err)
{
    const char *comma = memchr(t.p, ',', t.len);
    size_t alen = comma ? (size_t)(comma - t.p) : t.len;
    const char *colon = NULL;
    for (size_t i = alen; i > 0; i--)
        if (t.p[i - 1] == ':') {
            colon = t.p + i - 1;
            break;
        }
    if (!colon)
        return set_err(err, line, "address '%.*s' has no ':'", (int)(alen > 60 ? 60 : alen), t.p);
    size_t iplen = (size_t)(colon - t.p);
    if (iplen >= BUS_IPLEN)
        return set_err(err, line, "address too long");
    memcpy(n->ip, t.p, iplen);
    n->ip[iplen] = '\0';
    const char *ports = colon + 1;
    size_t plen = (size_t)(t.p + alen - ports);
    const char *at = memchr(ports, '@', plen);
    size_t portlen = at ? (size_t)(at - ports) : plen;
    if (!parse_bounded(ports, portlen, 65535, &n->port))
        return set_err(err, line, "bad port in address");
    if (at) {
        if (!parse_bounded(at + 1, plen - portlen - 1, 65535, &n->cport))
            return set_err(err, line, "bad cluster bus port in address");
    } else {
        n->cport = n->port + 10000; /* pre-3.2 files: Redis assumes port + 10000 */
        if (n->cport > 65535)
            return set_err(err, line, "bad cluster bus port in address (port + 10000)");
    }
    if (comma && (size_t)(t.p + t.len - comma - 1) > 0)
        n->hostname = mem_strndup(comma + 1, (size_t)(t.p + t.len - comma - 1));
    return NODES_CONF_OK;
}

static int add_mig(nodes_conf_mig_t **arr, size_t *n, uint16_t slot, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i].slot == slot)
            return 0;
    *arr = mem_realloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[*n].slot = slot;
    memcpy((*arr)[*n].node, id, NODES_CONF_IDLEN);
    (*arr)[*n].node[NODES_CONF_IDLEN] = '\0';
    (*n)++;
    return 1;
}

/* "[<slot>->-<id>]" or "[<slot>-<-<id>]" */
static int parse_marker(tok_t t, nodes_conf_node_t *n, unsigned line, nodes_conf_err_t *err)
{
    const char *dash = memchr(t.p, '-', t.len);
    int slot;
    if (!dash || !parse_bounded(t.p + 1, (size_t)(dash - t.p - 1), BUS_SLOTS - 1, &slot))
        return set_err(err, line, "bad slot in migration marker");
    size_t rest = t.len - (size_t)(dash - t.p);
    /* "->-" or "-<-", then 40 hex chars, then ']' */
    if (rest != 3 + NODES_CONF_IDLEN + 1 || dash[2] != '-' || t.p[t.len - 1] != ']' ||
        (dash[1] != '>' && dash[1] != '<') || !nodes_conf_valid_id(dash + 3, NODES_CONF_IDLEN))
        return set_err(err, line, "malformed migration marker for slot %d", slot);
    int ok = dash[1] == '>' ? add_mig(&n->migrating, &n->n_migrating, (uint16_t)slot, dash + 3)
                            : add_mig(&n->importing, &n->n_importing, (uint16_t)slot, dash + 3);
    if (!ok)
        return set_err(err, line, "duplicate migration marker for slot %d", slot);
    return NODES_CONF_OK;
}

/* "<slot>" or "<first>-<last>" */
static int parse_slots(tok_t t, nodes_conf_node_t *n, unsigned line, nodes_conf_err_t *err)
{
    const char *dash = memchr(t.p, '-', t.len);
    int lo, hi;
    size_t lolen = dash ? (size_t)(dash - t.p) : t.len;
    if (!parse_bounded(t.p, lolen, BUS_SLOTS - 1, &lo) ||
        (dash && !parse_bounded(dash + 1, t.len - lolen - 1, BUS_SLOTS - 1, &hi)))
        return set_err(err, line, "bad slot '%.*s'", (int)(t.len > 40 ? 40 : t.len), t.p);
    if (!dash)
        hi = lo;
    if (lo > hi)
        return set_err(err, line, "reversed slot range %d-%d", lo, hi);
    for (int s = lo; s <= hi; s++) {
        if (!bus_slot_test(n->slots, (unsigned)s)) {
            bus_slot_set(n->slots, (unsigned)s);
            n->num_slots++;
        }
    }
    return NODES_CONF_OK;
}

static int parse_node(const tok_t *tv, size_t tc, nodes_conf_node_t *n, unsigned line,
                      nodes_conf_err_t *err)
{
    char bad[48];
    if (tc < 8)
        return set_err(err, line, "node line has %zu fields, at least 8 expected", tc);
    if (!nodes_conf_valid_id(tv[0].p, tv[0].len))
        return set_err(err, line, "bad node id (40 hex characters expected)");
    memcpy(n->id, tv[0].p, NODES_CONF_IDLEN);
    if (parse_addr(tv[1], n, line, err) != NODES_CONF_OK)
        return NODES_CONF_ERR;
    if (!parse_flags(tv[2], &n->flags, bad, sizeof bad))
        return set_err(err, line, "unknown flag '%s'", bad);
    if (!tok_is(tv[3], "-")) {
        if (!nodes_conf_valid_id(tv[3].p, tv[3].len))
            return set_err(err, line, "bad master id");
        memcpy(n->master, tv[3].p, NODES_CONF_IDLEN);
    }
    if (!parse_u64(tv[4].p, tv[4].len, &n->ping_sent) ||
        !parse_u64(tv[5].p, tv[5].len, &n->pong_recv))
        return set_err(err, line, "bad ping/pong time");
    if (!parse_u64(tv[6].p, tv[6].len, &n->config_epoch))
        return set_err(err, line, "bad config epoch");
    if (tok_is(tv[7], "connected"))
        n->connected = 1;
    else if (!tok_is(tv[7], "disconnected"))
        return set_err(err, line, "bad link state (connected or disconnected expected)");
    for (size_t j = 8; j < tc; j++) {
        int rc = tv[j].p[0] == '[' ? parse_marker(tv[j], n, line, err)
                                   : parse_slots(tv[j], n, line, err);
        if (rc != NODES_CONF_OK)
            return NODES_CONF_ERR;
    }
    return NODES_CONF_OK;
}

/* ---- the vars line ---------------------------------------------------------- */

static int parse_vars(const tok_t *tv, size_t tc, nodes_conf_t *c, unsigned line,
                      nodes_conf_err_t *err)
{
    if (tc % 2 == 0)
        return set_err(err, line, "vars line needs name/value pairs");
    for (size_t j = 1; j < tc; j += 2) {
        uint64_t v;
        int cur = tv[j].len == 12 && strncasecmp(tv[j].p, "currentEpoch", 12) == 0;
        int vote = tv[j].len == 13 && strncasecmp(tv[j].p, "lastVoteEpoch", 13) == 0;
        if (!cur && !vote) {
            c->unknown_vars++;
            continue;
        }
        if (!parse_u64(tv[j + 1].p, tv[j + 1].len, &v))
            return set_err(err, line, "bad value for %s", cur ? "currentEpoch" : "lastVoteEpoch");
        if (cur)
            c->current_epoch = v;
        else
            c->last_vote_epoch = v;
    }
    c->has_vars = 1;
    return NODES_CONF_OK;
}

/* ---- the file ---------------------------------------------------------------- */

/* Splits [p, end) on whitespace into *tv (grown as needed). Returns the count. */
static size_t tokenize(const char *p, const char *end, tok_t **tv, size_t *tcap)
{
    size_t n = 0;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        if (p == end)
            break;
        const char *s = p;
        while (p < end && !is_space(*p))
            p++;
        if (n == *tcap) {
            *tcap = *tcap ? *tcap * 2 : 64;
            *tv = mem_realloc(*tv, *tcap * sizeof **tv);
        }
        (*tv)[n].p = s;
        (*tv)[n].len = (size_t)(p - s);
        n++;
    }
    return n;
}

static int check_node(nodes_conf_t *c, nodes_conf_node_t *n, unsigned line, nodes_conf_err_t *err)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcasecmp(c->nodes[i].id, n->id) == 0)
            return set_err(err, line, "duplicate node id %s", n->id);
    if (n->flags & BUS_NODE_MYSELF) {
        if (c->n_nodes > 0 && (c->nodes[c->myself].flags & BUS_NODE_MYSELF))
            return set_err(err, line, "a second node is flagged myself");
        c->myself = c->n_nodes;
    }
    return NODES_CONF_OK;
}

static int parse_line(nodes_conf_t *c, const tok_t *tv, size_t tc, size_t *cap, unsigned line,
                      nodes_conf_err_t *err)
{
    if (tc == 0)
        return set_err(err, line, "line holds only white space");
    if (tv[0].len == 4 && strncasecmp(tv[0].p, "vars", 4) == 0)
        return parse_vars(tv, tc, c, line, err);
    nodes_conf_node_t n;
    memset(&n, 0, sizeof n);
    if (parse_node(tv, tc, &n, line, err) != NODES_CONF_OK ||
        check_node(c, &n, line, err) != NODES_CONF_OK) {
        nodes_conf_node_deinit(&n);
        return NODES_CONF_ERR;
    }
    if (c->n_nodes == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        c->nodes = mem_realloc(c->nodes, *cap * sizeof *c->nodes);
    }
    c->nodes[c->n_nodes++] = n;
    return NODES_CONF_OK;
}

int nodes_conf_parse(const char *buf, size_t len, nodes_conf_t *out, nodes_conf_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (err) {
        err->line = 0;
        err->msg[0] = '\0';
    }
    if (len == 0)
        return NODES_CONF_OK;
    tok_t *tv = NULL;
    size_t tcap = 0, ncap = 0;
    unsigned line = 0;
    const char *p = buf, *end = buf + len;
    int rc = NODES_CONF_OK;
    while (p < end && rc == NODES_CONF_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        line++;
        if (eol > p) { /* empty lines are skipped, as Redis does */
            size_t tc = tokenize(p, eol, &tv, &tcap);
            rc = parse_line(out, tv, tc, &ncap, line, err);
        }
        p = nl ? nl + 1 : end;
    }
    mem_free(tv);
    if (rc == NODES_CONF_OK &&
        (out->n_nodes == 0 || !(out->nodes[out->myself].flags & BUS_NODE_MYSELF)))
        rc = set_err(err, 0, "no node is flagged myself");
    if (rc != NODES_CONF_OK)
        nodes_conf_free(out);
    return rc;
}

void nodes_conf_node_deinit(nodes_conf_node_t *n)
{
    mem_free(n->hostname);
    mem_free(n->migrating);
    mem_free(n->importing);
    n->hostname = NULL;
    n->migrating = n->importing = NULL;
    n->n_migrating = n->n_importing = 0;
}

void nodes_conf_free(nodes_conf_t *c)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        nodes_conf_node_deinit(&c->nodes[i]);
    mem_free(c->nodes);
    memset(c, 0, sizeof *c);
}

/* ---- formatting ---------------------------------------------------------------- */

typedef struct out_s {
    char *buf;
    size_t cap;
    size_t len; /* full length, may exceed cap */
} out_t;

static void out_put(out_t *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void out_fmt(out_t *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    out_put(o, tmp, (size_t)n);
}

static size_t out_finish(out_t *o)
{
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

static void put_flags(out_t *o, uint32_t flags)
{
    int first = 1;
    for (size_t k = 0; k < N_FLAGS; k++) {
        if (!(flags & flag_table[k].flag))
            continue;
        if (!first)
            out_put(o, ",", 1);
        out_put(o, flag_table[k].name, strlen(flag_table[k].name));
        first = 0;
    }
    if (first)
        out_put(o, "noflags", 7);
}

size_t nodes_conf_format_flags(char *buf, size_t cap, uint32_t flags)
{
    out_t o = {buf, cap, 0};
    put_flags(&o, flags);
    return out_finish(&o);
}

/* First slot >= s whose bit equals want (BUS_SLOTS if none); whole bytes of
 * the other value are skipped at once, so a save or CLUSTER NODES costs a few
 * thousand byte tests per node rather than 16384 bit tests. */
static unsigned next_bit(const uint8_t *bm, unsigned s, int want)
{
    const uint8_t skip = want ? 0x00 : 0xff;
    while (s < BUS_SLOTS) {
        if ((s & 7) == 0 && bm[s >> 3] == skip) {
            s += 8;
            continue;
        }
        if (bus_slot_test(bm, s) == want)
            return s;
        s++;
    }
    return BUS_SLOTS;
}

static void put_slots(out_t *o, const uint8_t *bm)
{
    unsigned s = next_bit(bm, 0, 1);
    while (s < BUS_SLOTS) {
        unsigned e = next_bit(bm, s, 0) - 1;
        if (e == s)
            out_fmt(o, " %u", s);
        else
            out_fmt(o, " %u-%u", s, e);
        s = next_bit(bm, e + 1, 1);
    }
}

typedef struct mark_s {
    uint16_t slot;
    uint8_t importing;
    const char *node;
} mark_t;

static int mark_cmp(const void *a, const void *b)
{
    const mark_t *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return (int)x->importing - (int)y->importing;
}

/* Markers in slot order; a slot both migrating and importing prints only the
 * migrating marker, as Redis does. */
static void put_markers(out_t *o, const nodes_conf_node_t *n)
{
    size_t k = n->n_migrating + n->n_importing;
    if (k == 0)
        return;
    mark_t *m = mem_alloc(k * sizeof *m);
    size_t j = 0;
    for (size_t i = 0; i < n->n_migrating; i++)
        m[j++] = (mark_t){n->migrating[i].slot, 0, n->migrating[i].node};
    for (size_t i = 0; i < n->n_importing; i++)
        m[j++] = (mark_t){n->importing[i].slot, 1, n->importing[i].node};
    qsort(m, k, sizeof *m, mark_cmp);
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && m[i].slot == m[i - 1].slot)
            continue;
        out_fmt(o, " [%u%s%.40s]", m[i].slot, m[i].importing ? "-<-" : "->-", m[i].node);
    }
    mem_free(m);
}

size_t nodes_conf_format_node(char *buf, size_t cap, const nodes_conf_node_t *n, int for_file)
{
    (void)for_file; /* Redis 7.0: the file and CLUSTER NODES lines are identical */
    out_t o = {buf, cap, 0};
    out_put(&o, n->id, strlen(n->id));
    out_put(&o, " ", 1);
    out_put(&o, n->ip, strlen(n->ip));
    out_fmt(&o, ":%d@%d", n->port, n->cport);
    if (n->hostname && n->hostname[0]) {
        out_put(&o, ",", 1);
        out_put(&o, n->hostname, strlen(n->hostname));
    }
    out_put(&o, " ", 1);
    put_flags(&o, n->flags);
    out_put(&o, " ", 1);
    if (n->master[0])
        out_put(&o, n->master, strlen(n->master));
    else
        out_put(&o, "-", 1);
    out_fmt(&o, " %llu %llu %llu %s", (unsigned long long)n->ping_sent,
            (unsigned long long)n->pong_recv, (unsigned long long)n->config_epoch,
            n->connected ? "connected" : "disconnected");
    put_slots(&o, n->slots);
    put_markers(&o, n);
    out_put(&o, "\n", 1);
    return out_finish(&o);
}

size_t nodes_conf_format_vars(char *buf, size_t cap, uint64_t current_epoch,
                              uint64_t last_vote_epoch)
{
    out_t o = {buf, cap, 0};
    out_fmt(&o, "vars currentEpoch %llu lastVoteEpoch %llu\n", (unsigned long long)current_epoch,
            (unsigned long long)last_vote_epoch);
    return out_finish(&o);
}

char *nodes_conf_format_file(const nodes_conf_t *c, size_t *len_out)
{
    size_t total = nodes_conf_format_vars(NULL, 0, c->current_epoch, c->last_vote_epoch);
    for (size_t i = 0; i < c->n_nodes; i++)
        total += nodes_conf_format_node(NULL, 0, &c->nodes[i], 1);
    char *buf = mem_alloc(total + 1);
    size_t off = 0;
    for (size_t i = 0; i < c->n_nodes; i++)
        off += nodes_conf_format_node(buf + off, total + 1 - off, &c->nodes[i], 1);
    off += nodes_conf_format_vars(buf + off, total + 1 - off, c->current_epoch, c->last_vote_epoch);
    *len_out = off;
    return buf;
}

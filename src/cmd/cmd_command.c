/*
 * cmd_command.c — COMMAND and its subcommands (COUNT LIST INFO DOCS GETKEYS
 * GETKEYSANDFLAGS HELP), and the walker that turns the generated metadata
 * (cmd_meta.c, notation in cmd_meta.h) into RESP2/RESP3 replies.
 *
 * Owns: the notation walker, the key-spec evaluator, the row ↔ meta check.
 * Must not: change the command table or dispatch anything.
 * Invariants: every reply tree written here is exactly one reply; a row with
 * meta is described by its meta (Redis's bytes), a row without meta by a
 * description built from the row itself (flags, legacy key range, implicit
 * ACL categories), so commands of our own still answer COMMAND INFO.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/mem.h"
#include "../lib/util.h"
#include "cmd_meta.h"
#include "cmd_server_int.h"

#define MAX_FLAG_NAMES 32

/* ---- names ----------------------------------------------------------------- */

size_t srv_fullname(const cmd_def_t *def, char *buf, size_t cap)
{
    int n = def->parent ? snprintf(buf, cap, "%s|%s", def->parent->name, def->name)
                        : snprintf(buf, cap, "%s", def->name);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static int cmp_meta(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const cmd_meta_t *)elem)->name);
}

const cmd_meta_t *cmd_meta_find(const char *name, size_t len)
{
    char low[128];
    if (len == 0 || len >= sizeof(low))
        return NULL;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[len] = '\0';
    return bsearch(low, cmd_meta_table, cmd_meta_count, sizeof(cmd_meta_t), cmp_meta);
}

const cmd_meta_t *cmd_meta_of(const cmd_def_t *def)
{
    char name[128];
    size_t n = srv_fullname(def, name, sizeof(name));
    return cmd_meta_find(name, n);
}

const cmd_meta_keyspec_t *cmd_meta_spec(const cmd_meta_t *m, int i)
{
    return &cmd_meta_specs[m->spec_off + i];
}

const cmd_def_t *srv_lookup_fullname(slice_t name)
{
    const char *bar = memchr(name.p, '|', name.len);
    if (bar == NULL)
        return cmd_lookup(name);
    const cmd_def_t *top = cmd_lookup(slice_make(name.p, (size_t)(bar - name.p)));
    slice_t sub = slice_make(bar + 1, name.len - (size_t)(bar - name.p) - 1);
    if (top == NULL || memchr(sub.p, '|', sub.len) != NULL)
        return NULL;
    return cmd_lookup_sub(top, sub);
}

/* ---- flags and categories of rows without meta ------------------------------ */

static const struct {
    uint32_t bit;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_MODULE, "module"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_ASKING, "asking"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_MAY_REPLICATE, "may_replicate"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};

size_t cmd_meta_flag_names(uint32_t flags, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]) && n < max; i++)
        if (flags & flag_names[i].bit)
            names[n++] = flag_names[i].name;
    return n;
}

/* The ACL categories Redis derives from flags alone. */
static size_t implicit_acl(uint32_t flags, const char **cats, size_t max)
{
    size_t n = 0;
    if ((flags & CMD_WRITE) && n < max)
        cats[n++] = "@write";
    if ((flags & CMD_READONLY) && n < max)
        cats[n++] = "@read";
    if ((flags & CMD_ADMIN) && n + 1 < max) {
        cats[n++] = "@admin";
        cats[n++] = "@dangerous";
    }
    if ((flags & CMD_PUBSUB) && n < max)
        cats[n++] = "@pubsub";
    if (n < max)
        cats[n++] = (flags & CMD_FAST) ? "@fast" : "@slow";
    if ((flags & CMD_BLOCKING) && n < max)
        cats[n++] = "@blocking";
    return n;
}

/* Does the space-separated word list contain word (case-insensitive)? */
static int words_have(const char *list, const char *word, size_t wlen)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " ");
        if (n == wlen && strncasecmp(p, word, n) == 0)
            return 1;
        p += n;
        p += *p == ' ';
    }
    return 0;
}

static int in_acl_category(const cmd_def_t *def, slice_t cat)
{
    char want[64];
    if (cat.len + 2 > sizeof(want))
        return 0;
    want[0] = '@';
    memcpy(want + 1, cat.p, cat.len);
    const cmd_meta_t *m = cmd_meta_of(def);
    if (m != NULL)
        return words_have(m->acl, want, cat.len + 1);
    const char *cats[8];
    size_t n = implicit_acl(def->flags, cats, 8);
    for (size_t i = 0; i < n; i++)
        if (strlen(cats[i]) == cat.len + 1 && strncasecmp(cats[i], want, cat.len + 1) == 0)
            return 1;
    return 0;
}

/* ---- the notation walker ------------------------------------------------------ */

static size_t count_subs(const cmd_def_t *def)
{
    size_t n = 0;
    for (const cmd_def_t *s = def->subs; s != NULL && s->name != NULL; s++)
        n++;
    return n;
}

static long long note_num(const char **pp)
{
    const char *p = *pp;
    int neg = *p == '-';
    p += neg;
    long long v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    *pp = p;
    return neg ? -v : v;
}

static const char *walk_str(reply_t *r, char type, const char *p)
{
    const char *s;
    size_t n;
    if (*p == '@') {
        p++;
        s = cmd_meta_words[note_num(&p)];
        n = strlen(s);
    } else {
        n = (size_t)note_num(&p);
        s = ++p; /* past the '"' */
        p += n;
    }
    if (type == '$')
        reply_bulk(r, s, n);
    else
        reply_status_len(r, s, n);
    return p;
}

static void reply_subs(reply_t *r, const cmd_def_t *def, int docs)
{
    size_t n = count_subs(def);
    if (docs) {
        reply_map(r, (long long)n);
        for (const cmd_def_t *s = def->subs; s != NULL && s->name != NULL; s++) {
            char name[128];
            size_t len = srv_fullname(s, name, sizeof(name));
            reply_bulk(r, name, len);
            cmd_meta_reply_docs(r, s);
        }
        return;
    }
    if (n == 0) {
        reply_set(r, 0);
        return;
    }
    reply_array(r, (long long)n);
    for (const cmd_def_t *s = def->subs; s->name != NULL; s++)
        cmd_meta_reply_info(r, s);
}

/* Emit the tree at p; returns the position after it. */
static const char *walk(reply_t *r, const cmd_def_t *def, int docs, const char *p)
{
    char t = *p++;
    long long n;
    switch (t) {
    case '*':
    case '~':
    case '%':
        n = note_num(&p);
        if (t == '*')
            reply_array(r, n);
        else if (t == '~')
            reply_set(r, n);
        else
            reply_map(r, n);
        for (long long i = 0; i < (t == '%' ? 2 * n : n); i++)
            p = walk(r, def, docs, p);
        return p;
    case ':':
        reply_int(r, note_num(&p));
        return p;
    case '_':
        reply_null(r);
        return p;
    case '$':
    case '+':
        return walk_str(r, t, p);
    case '^':
        reply_subs(r, def, docs);
        return p;
    default:
        /* Corrupt data can only come from a hand-edited cmd_meta.c. */
        log_warning("cmd_meta: bad notation byte '%c'", t);
        abort();
    }
}

static void reply_words_set(reply_t *r, const char *const *w, size_t n)
{
    reply_set(r, (long long)n);
    for (size_t i = 0; i < n; i++)
        reply_status(r, w[i]);
}

void cmd_meta_reply_info(reply_t *r, const cmd_def_t *def)
{
    const cmd_meta_t *m = cmd_meta_of(def);
    if (m != NULL) {
        walk(r, def, 0, m->info);
        return;
    }
    char name[128];
    const char *words[MAX_FLAG_NAMES];
    reply_array(r, 10);
    reply_bulk(r, name, srv_fullname(def, name, sizeof(name)));
    reply_int(r, def->arity);
    reply_words_set(r, words, cmd_meta_flag_names(def->flags, words, MAX_FLAG_NAMES));
    reply_int(r, def->key.first);
    reply_int(r, def->key.last);
    reply_int(r, def->key.step);
    reply_words_set(r, words, implicit_acl(def->flags, words, MAX_FLAG_NAMES));
    reply_set(r, 0); /* tips */
    reply_set(r, 0); /* key specs */
    reply_subs(r, def, 0);
}

void cmd_meta_reply_docs(reply_t *r, const cmd_def_t *def)
{
    const cmd_meta_t *m = cmd_meta_of(def);
    if (m != NULL) {
        walk(r, def, 1, m->docs);
        return;
    }
    int subs = count_subs(def) > 0;
    reply_map(r, subs);
    if (subs) {
        reply_bulk_cstr(r, "subcommands");
        reply_subs(r, def, 1);
    }
}

/* ---- rows vs meta --------------------------------------------------------------- */

static int flags_agree(const cmd_def_t *def, const cmd_meta_t *m, char *err, size_t cap)
{
    const char *ours[MAX_FLAG_NAMES];
    size_t n = cmd_meta_flag_names(def->flags, ours, MAX_FLAG_NAMES);
    size_t meta_n = 0;
    for (const char *p = m->flags; *p;) {
        size_t w = strcspn(p, " ");
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strlen(ours[i]) == w && strncmp(ours[i], p, w) == 0;
        if (!found) {
            snprintf(err, cap, "%s: flag '%.*s' missing from the row", m->name, (int)w, p);
            return -1;
        }
        meta_n++;
        p += w;
        p += *p == ' ';
    }
    if (meta_n != n) {
        snprintf(err, cap, "%s: the row has flags Redis does not report (\"%s\")", m->name,
                 m->flags);
        return -1;
    }
    return 0;
}

int cmd_meta_verify(const cmd_def_t *def, char *err, size_t cap)
{
    const cmd_meta_t *m = cmd_meta_of(def);
    if (m == NULL)
        return 0;
    if (def->arity != m->arity || def->key.first != m->first || def->key.last != m->last ||
        def->key.step != m->step) {
        snprintf(err, cap, "%s: arity/first/last/step %d/%d/%d/%d, Redis has %d/%d/%d/%d", m->name,
                 def->arity, def->key.first, def->key.last, def->key.step, m->arity, m->first,
                 m->last, m->step);
        return -1;
    }
    return flags_agree(def, m, err, cap);
}

static int verify_row(const cmd_def_t *def)
{
    char err[256];
    int bad = 0;
    if (cmd_meta_verify(def, err, sizeof(err)) != 0) {
        log_warning("COMMAND metadata disagrees with the command table: %s", err);
        bad++;
    }
    for (const cmd_def_t *s = def->subs; s != NULL && s->name != NULL; s++)
        bad += verify_row(s);
    return bad;
}

int cmd_meta_verify_all(void)
{
    int bad = 0;
    for (size_t i = 0; i < cmd_count(); i++)
        bad += verify_row(cmd_at(i));
    return bad;
}

/* ---- key extraction (COMMAND GETKEYS) ---------------------------------------- */

typedef struct keys_s {
    int n, cap;
    int *pos;
    const char **flags; /* key-spec flags of each key ("RW access update") */
} keys_t;

static void keys_add(keys_t *k, int pos, const char *flags)
{
    if (k->n == k->cap)
        return;
    k->pos[k->n] = pos;
    k->flags[k->n++] = flags;
}

/* Where the keys of one spec start, 0 if the keyword is absent, -1 if unknown. */
static int spec_begin(const cmd_meta_keyspec_t *sp, int argc, const slice_t *argv)
{
    if (sp->bs == 'i')
        return sp->bs_index;
    if (sp->bs != 'k')
        return -1;
    int from = sp->bs_index, start = from > 0 ? from : argc + from, end = from > 0 ? argc - 1 : 1;
    for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1)
            break;
        if (slice_eq_ci(argv[i], sp->bs_keyword))
            return i + 1;
    }
    return 0;
}

/* Keys of one spec into k; returns 0, or -1 when the spec cannot be applied. */
static int spec_keys(const cmd_meta_keyspec_t *sp, int argc, const slice_t *argv, keys_t *k)
{
    int first = spec_begin(sp, argc, argv), last, step;
    if (first < 0)
        return -1;
    if (first == 0)
        return 0;
    if (sp->fk == 'r') {
        step = sp->fk_b;
        if (sp->fk_a >= 0)
            last = first + sp->fk_a;
        else if (sp->fk_c == 0)
            last = argc + sp->fk_a;
        else
            last = first + ((argc - first) / sp->fk_c + sp->fk_a);
    } else if (sp->fk == 'k') {
        long long nk;
        int at = first + sp->fk_a;
        if (at >= argc || !str_to_ll(argv[at].p, argv[at].len, &nk) || nk < 0 || nk > argc)
            return -1;
        first += sp->fk_b;
        last = first + (int)nk - 1;
        step = sp->fk_c;
    } else {
        return -1;
    }
    if (last >= argc || last < first || first >= argc)
        return -1;
    for (int i = first; i <= last; i += step > 0 ? step : 1)
        keys_add(k, i, sp->flags);
    return words_have(sp->flags, "incomplete", 10) ? -1 : 0;
}

/* SET: "RW access update" with the GET option, else "OW update". */
static const char *set_flags(int argc, const slice_t *argv)
{
    for (int i = 3; i < argc; i++)
        if (slice_eq_ci(argv[i], "get"))
            return "RW access update";
    return "OW update";
}

/* BITFIELD: "RO access" when every operation is a GET, else "RW access update". */
static const char *bitfield_flags(int argc, const slice_t *argv)
{
    for (int i = 2; i < argc; i++) {
        int rest = argc - i - 1;
        if (slice_eq_ci(argv[i], "get") && rest >= 2)
            i += 2;
        else if (slice_eq_ci(argv[i], "overflow") && rest >= 1)
            i += 1;
        else
            return "RW access update";
    }
    return "RO access";
}

/* Commands whose key flags depend on the arguments (key specs marked
 * variable_flags): how Redis's key extraction decides them. */
static const struct {
    const char *name;
    const char *(*flags)(int argc, const slice_t *argv);
} variable_flags[] = {
    {"set", set_flags},
    {"bitfield", bitfield_flags},
};

/* Flags for a key found without key specs: those of the first spec that
 * reaches the same position, else what a store destination has (writers)
 * or a plain read. */
static const char *fallback_flags(const cmd_def_t *def, const cmd_meta_t *m, int argc,
                                  const slice_t *argv, int pos)
{
    for (size_t i = 0; i < sizeof(variable_flags) / sizeof(variable_flags[0]); i++)
        if (def->parent == NULL && strcmp(def->name, variable_flags[i].name) == 0)
            return variable_flags[i].flags(argc, argv);
    const char *found = NULL;
    keys_t tmp = {.cap = argc,
                  .pos = mem_alloc(sizeof(int) * (size_t)argc),
                  .flags = mem_alloc(sizeof(char *) * (size_t)argc)};
    for (int i = 0; m != NULL && found == NULL && i < m->nspecs; i++) {
        tmp.n = 0;
        spec_keys(cmd_meta_spec(m, i), argc, argv, &tmp);
        for (int j = 0; j < tmp.n && found == NULL; j++)
            if (tmp.pos[j] == pos)
                found = cmd_meta_spec(m, i)->flags;
    }
    mem_free(tmp.pos);
    mem_free(tmp.flags);
    if (found != NULL)
        return found;
    return (def->flags & CMD_WRITE) ? "OW update" : "RO access";
}

/* Redis's preference: key specs when all are usable and none has variable
 * flags; otherwise the row's getkeys function, else its legacy range. */
static void find_keys(const cmd_def_t *def, int argc, const slice_t *argv, keys_t *k)
{
    const cmd_meta_t *m = cmd_meta_of(def);
    int usable = m != NULL && m->nspecs > 0, real = 0;
    for (int i = 0; usable && i < m->nspecs; i++) {
        const cmd_meta_keyspec_t *sp = cmd_meta_spec(m, i);
        usable = !words_have(sp->flags, "variable_flags", 14);
        real |= !words_have(sp->flags, "not_key", 7);
    }
    if (usable && real) {
        int ok = 1;
        for (int i = 0; ok && i < m->nspecs; i++) {
            const cmd_meta_keyspec_t *sp = cmd_meta_spec(m, i);
            if (!words_have(sp->flags, "not_key", 7))
                ok = spec_keys(sp, argc, argv, k) == 0;
        }
        if (ok)
            return;
        k->n = 0;
    }
    if (def->getkeys != NULL) {
        int n = def->getkeys(argc, argv, k->pos, k->cap);
        k->n = n < 0 ? 0 : (n > k->cap ? k->cap : n);
    } else if (def->key.first > 0) {
        int last = def->key.last < 0 ? argc + def->key.last : def->key.last;
        int step = def->key.step > 0 ? def->key.step : 1;
        for (int i = def->key.first; i <= last && i < argc; i += step)
            keys_add(k, i, NULL);
    }
    for (int i = 0; i < k->n; i++)
        k->flags[i] = fallback_flags(def, m, argc, argv, k->pos[i]);
}

static int has_keys(const cmd_def_t *def)
{
    if (def->getkeys != NULL)
        return 1;
    const cmd_meta_t *m = cmd_meta_of(def);
    if (m == NULL)
        return def->key.first > 0;
    for (int i = 0; i < m->nspecs; i++)
        if (!words_have(cmd_meta_spec(m, i)->flags, "not_key", 7))
            return 1;
    return 0;
}

/* Key flags as GETKEYSANDFLAGS shows them: the spec's words without the
 * spec-only markers "incomplete" and "variable_flags". */
static int shown_flag(const char *p, size_t w)
{
    return !(w == 10 && strncmp(p, "incomplete", w) == 0) &&
           !(w == 14 && strncmp(p, "variable_flags", w) == 0);
}

static void reply_flag_words(reply_t *r, const char *list)
{
    long long n = 0;
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        n += shown_flag(p, w);
        p += w;
        p += *p == ' ';
    }
    reply_set(r, n);
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        if (shown_flag(p, w))
            reply_status_len(r, p, w);
        p += w;
        p += *p == ' ';
    }
}

static void getkeys(cmd_ctx_t *ctx, int with_flags)
{
    int argc = ctx->argc - 2;
    const slice_t *argv = ctx->argv + 2;
    const cmd_def_t *def = cmd_lookup(argv[0]);
    if (def != NULL && def->subs != NULL && argc >= 2)
        def = cmd_lookup_sub(def, argv[1]);
    if (def == NULL) {
        reply_error(ctx->r, "ERR Invalid command specified");
        return;
    }
    if (!has_keys(def)) {
        reply_error(ctx->r, "ERR The command has no key arguments");
        return;
    }
    if ((def->arity > 0 && def->arity != argc) || argc < -def->arity) {
        reply_error(ctx->r, "ERR Invalid number of arguments specified for command");
        return;
    }
    keys_t k = {.cap = argc,
                .pos = mem_alloc(sizeof(int) * (size_t)argc),
                .flags = mem_alloc(sizeof(char *) * (size_t)argc)};
    find_keys(def, argc, argv, &k);
    if (k.n == 0 && !(def->flags & CMD_NO_MANDATORY_KEYS)) {
        reply_error(ctx->r, "ERR Invalid arguments specified for command");
    } else {
        reply_array(ctx->r, k.n);
        for (int i = 0; i < k.n; i++) {
            if (with_flags)
                reply_array(ctx->r, 2);
            reply_bulk(ctx->r, argv[k.pos[i]].p, argv[k.pos[i]].len);
            if (with_flags)
                reply_flag_words(ctx->r, k.flags[i]);
        }
    }
    mem_free(k.pos);
    mem_free(k.flags);
}

/* ---- handlers ----------------------------------------------------------------- */

void cmd_command(cmd_ctx_t *ctx)
{
    size_t n = cmd_count();
    reply_array(ctx->r, (long long)n);
    for (size_t i = 0; i < n; i++)
        cmd_meta_reply_info(ctx->r, cmd_at(i));
}

void cmd_command_count(cmd_ctx_t *ctx)
{
    reply_int(ctx->r, (long long)cmd_count());
}

void cmd_command_info(cmd_ctx_t *ctx)
{
    if (ctx->argc == 2) {
        cmd_command(ctx);
        return;
    }
    reply_array(ctx->r, ctx->argc - 2);
    for (int i = 2; i < ctx->argc; i++) {
        const cmd_def_t *def = srv_lookup_fullname(ctx->argv[i]);
        if (def == NULL)
            reply_null(ctx->r);
        else
            cmd_meta_reply_info(ctx->r, def);
    }
}

void cmd_command_docs(cmd_ctx_t *ctx)
{
    reply_t *r = ctx->r;
    if (ctx->argc == 2) {
        reply_map(r, (long long)cmd_count());
        for (size_t i = 0; i < cmd_count(); i++) {
            reply_bulk_cstr(r, cmd_at(i)->name);
            cmd_meta_reply_docs(r, cmd_at(i));
        }
        return;
    }
    reply_defer_t d = reply_defer(r);
    long long found = 0;
    for (int i = 2; i < ctx->argc; i++) {
        const cmd_def_t *def = srv_lookup_fullname(ctx->argv[i]);
        if (def == NULL)
            continue;
        char name[128];
        reply_bulk(r, name, srv_fullname(def, name, sizeof(name)));
        cmd_meta_reply_docs(r, def);
        found++;
    }
    reply_defer_map(r, d, found);
}

void cmd_command_getkeys(cmd_ctx_t *ctx)
{
    getkeys(ctx, 0);
}
void cmd_command_getkeysandflags(cmd_ctx_t *ctx)
{
    getkeys(ctx, 1);
}

enum { FILTER_NONE, FILTER_MODULE, FILTER_ACLCAT, FILTER_PATTERN };

static int list_match(const cmd_def_t *def, int filter, slice_t arg)
{
    char name[128];
    size_t n;
    switch (filter) {
    case FILTER_MODULE:
        return 0; /* no module commands */
    case FILTER_ACLCAT:
        return in_acl_category(def, arg);
    case FILTER_PATTERN:
        n = srv_fullname(def, name, sizeof(name));
        return glob_match(arg.p, arg.len, name, n, 1);
    default:
        return 1;
    }
}

static long long list_rows(reply_t *r, const cmd_def_t *def, int filter, slice_t arg)
{
    long long n = 0;
    if (list_match(def, filter, arg)) {
        char name[128];
        reply_bulk(r, name, srv_fullname(def, name, sizeof(name)));
        n++;
    }
    for (const cmd_def_t *s = def->subs; s != NULL && s->name != NULL; s++)
        n += list_rows(r, s, filter, arg);
    return n;
}

void cmd_command_list(cmd_ctx_t *ctx)
{
    int filter = FILTER_NONE;
    slice_t arg = {0};
    if (ctx->argc == 5 && slice_eq_ci(ctx->argv[2], "filterby")) {
        arg = ctx->argv[4];
        if (slice_eq_ci(ctx->argv[3], "module"))
            filter = FILTER_MODULE;
        else if (slice_eq_ci(ctx->argv[3], "aclcat"))
            filter = FILTER_ACLCAT;
        else if (slice_eq_ci(ctx->argv[3], "pattern"))
            filter = FILTER_PATTERN;
    }
    if (ctx->argc != 2 && filter == FILTER_NONE) {
        reply_syntax_error(ctx->r);
        return;
    }
    reply_defer_t d = reply_defer(ctx->r);
    long long n = 0;
    for (size_t i = 0; i < cmd_count(); i++)
        n += list_rows(ctx->r, cmd_at(i), filter, arg);
    reply_defer_array(ctx->r, d, n);
}

void cmd_command_help(cmd_ctx_t *ctx)
{
    static const char *const lines[] = {
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        NULL,
    };
    srv_reply_help(ctx->r, "COMMAND", lines);
}

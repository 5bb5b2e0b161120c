/*
 * fuzz_bus_msg.c — libFuzzer harness for the cluster bus codec.
 *
 * Feeds arbitrary bytes to bus_msg_peek and bus_msg_decode (from an exact-size
 * copy, so ASan sees any overread). A decode that succeeds must survive walking
 * every gossip entry and extension, and rebuilding it with the encoders must give
 * a message that decodes again to the same header; for every type but
 * PING/PONG/MEET (whose string extensions are re-padded) the bytes must be
 * identical except count and extensions, which those builders write as 0.
 * Seeds: the .bin files in tests/unit/golden/bus.
 *   make build/fuzz/fuzz_bus_msg
 *   ./build/fuzz/fuzz_bus_msg -max_total_time=300 /tmp/corpus tests/unit/golden/bus
 */
/* SOURCES: src/cluster/bus_msg.c src/lib/mem.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bus_msg.h"

static size_t rebuild(bus_buf_t *b, const bus_msg_t *m)
{
    const bus_hdr_t *h = &m->hdr;
    switch (h->type) {
    case BUS_TYPE_PING:
    case BUS_TYPE_PONG:
    case BUS_TYPE_MEET: {
        bus_gossip_t *g = malloc(sizeof *g * (h->count ? h->count : 1));
        bus_ext_t *e = malloc(sizeof *e * (m->u.ping.ext_count ? m->u.ping.ext_count : 1));
        for (uint16_t i = 0; i < h->count; i++)
            bus_msg_gossip(m, i, &g[i]);
        bus_ext_iter_t it;
        uint16_t n = 0;
        bus_msg_ext_first(m, &it);
        while (bus_msg_ext_next(&it, &e[n]))
            n++;
        if (n != m->u.ping.ext_count)
            abort();
        size_t w = bus_msg_build_ping(b, h, h->type, g, h->count, e, n);
        free(g);
        free(e);
        return w;
    }
    case BUS_TYPE_FAIL:
        return bus_msg_build_fail(b, h, m->u.fail.nodename);
    case BUS_TYPE_PUBLISH:
    case BUS_TYPE_PUBLISHSHARD:
        return bus_msg_build_publish(b, h, h->type, m->u.publish.channel, m->u.publish.channel_len,
                                     m->u.publish.message, m->u.publish.message_len);
    case BUS_TYPE_FAILOVER_AUTH_REQUEST:
        return bus_msg_build_auth_request(b, h);
    case BUS_TYPE_FAILOVER_AUTH_ACK:
        return bus_msg_build_auth_ack(b, h);
    case BUS_TYPE_MFSTART:
        return bus_msg_build_mfstart(b, h);
    case BUS_TYPE_UPDATE:
        return bus_msg_build_update(b, h, m->u.update.config_epoch, m->u.update.nodename,
                                    m->u.update.slots);
    case BUS_TYPE_MODULE:
        return bus_msg_build_module(b, h, m->u.module.module_id, m->u.module.type, m->u.module.data,
                                    m->u.module.len);
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    uint32_t totlen;
    int prc = bus_msg_peek(buf, size, &totlen);
    bus_msg_t m;
    char err[128];
    int rc = bus_msg_decode(buf, size, &m, err, sizeof err);
    if (rc == BUS_OK && prc != BUS_OK)
        abort(); /* decode is stricter than peek */
    if (rc == BUS_OK) {
        uint8_t stack[BUS_UPDATE_LEN];
        bus_buf_t b;
        bus_buf_init(&b, stack, sizeof stack);
        size_t w = rebuild(&b, &m);
        if (w) {
            bus_msg_t m2;
            if (bus_msg_decode(b.data, b.len, &m2, err, sizeof err) != BUS_OK)
                abort();
            if (m2.hdr.type != m.hdr.type ||
                (m.hdr.type <= BUS_TYPE_MEET && m2.hdr.count != m.hdr.count) ||
                memcmp(m2.hdr.sender, m.hdr.sender, BUS_NAMELEN) != 0 ||
                memcmp(m2.hdr.myslots, m.hdr.myslots, BUS_SLOT_BYTES) != 0)
                abort();
            if (m.hdr.type > BUS_TYPE_MEET) {
                /* non-gossip builders always write count = 0 and extensions = 0 */
                memset(buf + 14, 0, 2);
                memset(buf + 2214, 0, 2);
                if (w != m.hdr.totlen || memcmp(b.data, buf, w) != 0)
                    abort();
            }
        }
        bus_buf_deinit(&b);
    }
    free(buf);
    return 0;
}

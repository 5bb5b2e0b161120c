/*
 * fuzz_nodes_conf.c — libFuzzer harness for the nodes.conf codec.
 *
 * Parses arbitrary text (exact-size copy, so ASan sees any overread). A parse
 * that succeeds is formatted; the formatted file must parse again, and
 * formatting that must give the same bytes (one round normalizes spelling such
 * as leading zeros or flag order; after that the codec is a fixed point). A
 * failed parse must name a reason and leave nothing allocated.
 * Seeds: tests/unit/golden/nodes_conf/.
 *   make build/fuzz/fuzz_nodes_conf
 *   ./build/fuzz/fuzz_nodes_conf -max_total_time=300 /tmp/corpus tests/unit/golden/nodes_conf
 */
/* SOURCES: src/cluster/nodes_conf.c src/lib/mem.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/nodes_conf.h"
#include "lib/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    nodes_conf_t c;
    nodes_conf_err_t e;
    if (nodes_conf_parse(buf, size, &c, &e) != NODES_CONF_OK) {
        if (e.msg[0] == '\0' || c.nodes != NULL || c.n_nodes != 0)
            abort();
        free(buf);
        return 0;
    }
    if (size > 0) {
        size_t l1, l2;
        char *f1 = nodes_conf_format_file(&c, &l1);
        nodes_conf_t c2;
        if (nodes_conf_parse(f1, l1, &c2, &e) != NODES_CONF_OK)
            abort();
        char *f2 = nodes_conf_format_file(&c2, &l2);
        if (l1 != l2 || memcmp(f1, f2, l1) != 0 || c2.n_nodes != c.n_nodes || c2.myself != c.myself)
            abort();
        for (size_t i = 0; i < c.n_nodes; i++) {
            size_t need = nodes_conf_format_node(NULL, 0, &c.nodes[i], 0);
            char small[16];
            if (nodes_conf_format_node(small, sizeof small, &c.nodes[i], 1) != need)
                abort();
        }
        mem_free(f1);
        mem_free(f2);
        nodes_conf_free(&c2);
    }
    nodes_conf_free(&c);
    free(buf);
    return 0;
}

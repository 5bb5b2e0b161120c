/*
 * fuzz_rdb.c — libFuzzer harness for the RDB codec.
 *
 * The input is used twice (exact-size copies, so ASan sees any overread):
 *  1. as a whole RDB file loaded into a fresh keyspace (checksums are only
 *     enforced when the stored one is non-zero, so mutated files with a zero
 *     trailer reach the structural checks). A load that succeeds is saved
 *     again; the saved file must load and hold the same number of keys. A load
 *     that fails must name the reason and its offset.
 *  2. as the object part of a DUMP payload (first byte = type). A decode that
 *     succeeds is re-encoded with and without LZF; both must decode again.
 * Leaks are caught by LeakSanitizer at the end of every run.
 * Seeds: the .rdb files of tests/unit/golden/rdb and the payloads of dumps.txt.
 *   make build/fuzz/fuzz_rdb
 *   ./build/fuzz/fuzz_rdb -max_total_time=300 /tmp/corpus_rdb tests/unit/golden/rdb
 */
/* clang-format off */
/* SOURCES: src/persist/rdb_enc.c src/persist/rdb_dec.c src/persist/rdb_load.c src/persist/rdb_obj.c src/persist/rdb_zl.c src/persist/rdb_lzf.c src/ks/kv.c src/ks/db.c src/ks/ks.c src/ks/listpack.c src/ks/intset.c src/ks/quicklist.c src/ks/tset.c src/ks/thash.c src/ks/zset.c src/lib/dict.c src/lib/util.c src/lib/mem.c src/lib/crc16.c src/lib/crc64.c */
/* clang-format on */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks/db.h"
#include "ks/ks.h"
#include "ks/quicklist.h"
#include "ks/thash.h"
#include "ks/tset.h"
#include "ks/zset.h"
#include "lib/mem.h"
#include "persist/rdb.h"

#define NOW_MS 1700000000000ULL

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kv_register_type(OBJ_LIST, &quicklist_kv_ops);
    kv_register_type(OBJ_SET, &tset_kv_ops);
    kv_register_type(OBJ_ZSET, &zset_kv_ops);
    kv_register_type(OBJ_HASH, &thash_kv_ops);
    thash_set_limits(512, 64);
    tset_set_limits(512);
    zset_set_limits(128, 64);
    return 0;
}

static void as_file(const uint8_t *data, size_t size)
{
    ks_t *ks = ks_new(16, 0);
    rdb_reader_t r;
    rdb_load_stats_t st;
    rdb_reader_init_mem(&r, data, size);
    int rc = rdb_load_ks(&r, ks, NOW_MS, 0, &st);
    if (rc != RDB_OK && strstr(rdb_reader_error(&r), " at offset ") == NULL)
        abort();
    rdb_reader_deinit(&r);
    if (rc == RDB_OK) {
        rdb_membuf_t m = {0};
        rdb_writer_t w;
        rdb_save_info_t info = {.now_ms = NOW_MS};
        rdb_writer_init(&w, rdb_membuf_write, &m, RDB_W_CHECKSUM | RDB_W_COMPRESS);
        if (rdb_save_ks(&w, ks, &info) != 0)
            abort();
        rdb_writer_deinit(&w);
        ks_t *ks2 = ks_new(16, 0);
        rdb_reader_init_mem(&r, m.p, m.len);
        if (rdb_load_ks(&r, ks2, NOW_MS, 0, &st) != RDB_OK ||
            ks_total_keys(ks2) != ks_total_keys(ks))
            abort();
        rdb_reader_deinit(&r);
        ks_free(ks2);
        mem_free(m.p);
    }
    ks_free(ks);
}

static void as_payload(const uint8_t *data, size_t size)
{
    unsigned char *p = malloc(size + 10);
    memcpy(p, data, size);
    memset(p + size, 0, 10); /* trailer: not verified here */
    rdb_reader_t r;
    kv_val_t v;
    int rc = rdb_dump_decode(&r, p, size + 10, -2, &v);
    if (rc == RDB_ERR && strstr(rdb_reader_error(&r), " at offset ") == NULL)
        abort();
    if (rc == RDB_OK) {
        kv_t *kv = kv_new(slice_make("k", 1), &v, -1, 0);
        for (int z = 0; z < 2; z++) {
            size_t len;
            unsigned char *d = rdb_dump_payload(kv, z, &len);
            rdb_reader_t r2;
            kv_val_t v2;
            if (rdb_dump_verify(d, len) != 0 || rdb_dump_decode(&r2, d, len, -2, &v2) != RDB_OK) {
                fprintf(stderr, "re-encoded value does not decode: %s\n", rdb_reader_error(&r2));
                abort();
            }
            rdb_val_free(&v2);
            rdb_reader_deinit(&r2);
            mem_free(d);
        }
        kv_free(kv);
    }
    rdb_reader_deinit(&r);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    as_file(copy, size);
    as_payload(copy, size);
    free(copy);
    return 0;
}

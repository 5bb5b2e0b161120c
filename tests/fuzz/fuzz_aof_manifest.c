/*
 * fuzz_aof_manifest.c — libFuzzer harness for the AOF manifest codec
 * (src/persist/aof_manifest.c) and the AOF command reader
 * (src/persist/aof_reader.c).
 *
 * Byte 0 picks the target (even: manifest, odd: reader); the rest is the input.
 * Manifest invariants: a parse either fails with a reason and leaves the
 * manifest empty, or succeeds and then encode → parse → encode is a fixed
 * point (same text twice, same file lists; a manifest of comments only
 * encodes to nothing; names whose quoted form makes a line longer than the
 * format's 1024-byte limit are the one thing that can't round-trip). Reader invariants: offsets only
 * move forward and stay inside the buffer, every command has argc >= 1 and
 * its argv inside [off, end), a truncated or corrupt outcome points at or
 * after the last complete command, and the outcome is sticky.
 */
/* SOURCES: src/persist/aof_manifest.c src/persist/aof_reader.c src/proto/resp.c src/lib/mem.c */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "persist/aof_manifest.h"
#include "persist/aof_reader.h"

static int has_long_line(const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n >= AOF_MANIFEST_MAX_LINE)
            return 1;
        p += n + 1;
    }
    return 0;
}

static void check_manifest(const uint8_t *data, size_t size)
{
    aof_manifest_t m, m2;
    aof_manifest_err_t err;
    if (aof_manifest_parse((const char *)data, size, &m, &err) != 0) {
        if (err.reason[0] == '\0' || m.base != NULL || m.nincr != 0 || m.nhist != 0)
            abort();
        return;
    }
    size_t len, len2;
    char *txt = aof_manifest_encode(&m, &len);
    if (len == 0) { /* only comments: nothing to round-trip ("" is "empty manifest") */
        mem_free(txt);
        aof_manifest_deinit(&m);
        return;
    }
    if (aof_manifest_parse(txt, len, &m2, &err) != 0) {
        /* The one legitimate failure: quoting (\xHH) made a line longer than
         * the format allows (Redis's limit too). */
        if (strcmp(err.reason, "The AOF manifest file contains too long line") != 0 ||
            !has_long_line(txt, len))
            abort();
        mem_free(txt);
        aof_manifest_deinit(&m);
        return;
    }
    char *txt2 = aof_manifest_encode(&m2, &len2);
    if (len != len2 || memcmp(txt, txt2, len) != 0)
        abort();
    if (m.nincr != m2.nincr || m.nhist != m2.nhist || (m.base == NULL) != (m2.base == NULL))
        abort();
    for (size_t i = 1; i < m.nincr; i++)
        if (m.incr[i].seq <= m.incr[i - 1].seq)
            abort();
    mem_free(txt);
    mem_free(txt2);
    aof_manifest_deinit(&m);
    aof_manifest_deinit(&m2);
}

static void check_reader(const uint8_t *data, size_t size)
{
    char *buf = mem_alloc(size + 1);
    memcpy(buf, data, size);
    aof_reader_t r;
    aof_reader_init(&r, buf, size);
    aof_cmd_t c;
    size_t last = 0;
    int rc;
    while ((rc = aof_reader_next(&r, &c)) == AOF_READ_OK) {
        if (c.argc < 1 || c.off < last || c.end <= c.off || c.end > size)
            abort();
        for (int i = 0; i < c.argc; i++) {
            const char *p = c.argv[i].p;
            if (p < buf + c.off || p + c.argv[i].len > buf + c.end)
                abort();
        }
        last = c.end;
    }
    if (r.off < last || r.off > size)
        abort();
    if (rc == AOF_READ_EOF && r.off != size)
        abort();
    if (rc == AOF_READ_TRUNC && r.off >= size)
        abort();
    if (rc == AOF_READ_ERR && (r.err_off < r.off || r.err_off > size || r.err[0] == '\0'))
        abort();
    if (aof_reader_next(&r, &c) != rc)
        abort();
    aof_reader_deinit(&r);
    mem_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        check_reader(data + 1, size - 1);
    else
        check_manifest(data + 1, size - 1);
    return 0;
}

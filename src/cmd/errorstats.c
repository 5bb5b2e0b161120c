/*
 * errorstats.c — the per-error-code counters behind INFO errorstats.
 *
 * Owns: the code table (a fixed array kept sorted by code, which is the order
 * INFO lists them in, like Redis's radix tree; searched linearly: there are a
 * handful of codes in practice and the search happens only on error replies).
 * Must not: allocate. Invariant: codes[0..ncodes) are distinct, non-empty and
 * sorted by strcmp.
 */
#include "errorstats.h"

#include <string.h>

static struct {
    char code[ERRORSTATS_CODE_MAX];
    uint64_t count;
} codes[ERRORSTATS_MAX];
static size_t ncodes;

void errorstats_count(const char *code)
{
    if (code == NULL || code[0] == '\0')
        return;
    size_t i = 0;
    int c = 1;
    while (i < ncodes && (c = strcmp(codes[i].code, code)) < 0)
        i++;
    if (i < ncodes && c == 0) {
        codes[i].count++;
        return;
    }
    if (ncodes == ERRORSTATS_MAX)
        return;
    memmove(&codes[i + 1], &codes[i], (ncodes - i) * sizeof(codes[0]));
    size_t n = strnlen(code, ERRORSTATS_CODE_MAX - 1);
    memcpy(codes[i].code, code, n);
    codes[i].code[n] = '\0';
    codes[i].count = 1;
    ncodes++;
}

void errorstats_reset(void)
{
    memset(codes, 0, sizeof(codes));
    ncodes = 0;
}

const char *errorstats_at(size_t i, uint64_t *count)
{
    if (i >= ncodes)
        return NULL;
    *count = codes[i].count;
    return codes[i].code;
}

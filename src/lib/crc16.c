/*
 * crc16.c — table-driven CRC16 XMODEM and key_hash_slot (see crc16.h).
 *
 * Owns: the 256-entry CRC table, computed once from the polynomial before main
 * runs (constructor), so lookups need no lazy-init check.
 * Must not: depend on anything but libc; allocate.
 * Invariant: crc16_table[i] is the CRC of the byte i shifted into a zero register.
 */
#include "crc16.h"

#include <string.h>

#define CRC16_POLY 0x1021u

static uint16_t crc16_table[256];

__attribute__((constructor)) static void crc16_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        unsigned crc = i << 8;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000u) ? (crc << 1) ^ CRC16_POLY : crc << 1;
        crc16_table[i] = (uint16_t)crc;
    }
}

uint16_t crc16_xmodem(const void *p, size_t len)
{
    const unsigned char *b = p;
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (crc << 8) ^ crc16_table[((crc >> 8) ^ b[i]) & 0xffu];
    return (uint16_t)crc;
}

unsigned key_hash_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open != NULL) {
        size_t start = (size_t)(open - key) + 1;
        const char *close = memchr(key + start, '}', len - start);
        if (close != NULL && close > key + start)
            return crc16_xmodem(key + start, (size_t)(close - key) - start) & (CLUSTER_SLOTS - 1);
    }
    return crc16_xmodem(key, len) & (CLUSTER_SLOTS - 1);
}

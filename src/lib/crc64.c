/*
 * crc64.c — CRC-64/Jones, slice-by-8 (see crc64.h).
 *
 * Owns: eight 256-entry tables computed from the polynomial before main runs
 * (constructor). Must not: depend on anything but libc; allocate.
 * Invariants: crc64_table[0] is the byte-at-a-time table of the reflected
 * polynomial; crc64_table[k][i] is the CRC of byte i followed by k zero bytes,
 * which lets eight input bytes be folded in with eight lookups.
 */
#include "crc64.h"

#include <string.h>

/* 0xad93d23594c935a9 with its bits reversed (the reflected form). */
#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t crc64_table[8][256];

__attribute__((constructor)) static void crc64_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t crc = i;
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ CRC64_POLY_REFLECTED : crc >> 1;
        crc64_table[0][i] = crc;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++) {
            uint64_t prev = crc64_table[k - 1][i];
            crc64_table[k][i] = (prev >> 8) ^ crc64_table[0][prev & 0xff];
        }
}

static inline uint64_t crc64_byte(uint64_t crc, unsigned char b)
{
    return crc64_table[0][(crc ^ b) & 0xff] ^ (crc >> 8);
}

uint64_t crc64_jones(uint64_t crc, const void *p, size_t len)
{
    const unsigned char *b = p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (len > 0 && ((uintptr_t)b & 7) != 0) {
        crc = crc64_byte(crc, *b++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        crc ^= w;
        crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
              crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
              crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
              crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
        b += 8;
        len -= 8;
    }
#endif
    while (len > 0) {
        crc = crc64_byte(crc, *b++);
        len--;
    }
    return crc;
}

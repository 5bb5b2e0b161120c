/*
 * crc64.h — CRC-64/Jones as Redis uses it for RDB files and DUMP payloads.
 *
 * Pure functions, safe from any thread (the AOF/RDB helpers may call them).
 */
#ifndef TESSERA_CRC64_H
#define TESSERA_CRC64_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continues a CRC-64/Jones over p[0..len): reflected, polynomial
 * 0xad93d23594c935a9, no final xor. Start with crc = 0; feed chunks in order by
 * passing the previous result. crc64_jones(0, "123456789", 9) ==
 * 0xe9c6d914c4b8d9ca. The 8-byte trailer of RDB/DUMP is this value stored
 * little-endian.
 */
uint64_t crc64_jones(uint64_t crc, const void *p, size_t len);

#endif

/*
 * crc16.h — CRC16-CCITT (XMODEM) and the Redis Cluster key → slot rule.
 *
 * Slot routing uses this CRC, never the keyspace hash (XXH3). Pure functions,
 * safe from any thread.
 */
#ifndef TESSERA_CRC16_H
#define TESSERA_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS 16384

/* CRC16 XMODEM: poly 0x1021, init 0, not reflected, no final xor.
 * crc16_xmodem("123456789", 9) == 0x31C3. */
uint16_t crc16_xmodem(const void *p, size_t len);

/*
 * The cluster slot (0..16383) of a key: crc16_xmodem(key) mod 16384, except that
 * when the key holds a '{' followed later by a '}' with at least one byte between
 * the first '{' and the first '}' after it, only those bytes are hashed
 * ("{user1000}.following" and "{user1000}.followers" share a slot; "foo{}{bar}"
 * hashes the whole key; "foo{{bar}}zap" hashes "{bar").
 */
unsigned key_hash_slot(const char *key, size_t len);

#endif

/* Finding a record separator in a stream's unread bytes under a length
 * limit, as asyncio's StreamReader.readuntil does (readline is readuntil of
 * "\n"). Pure scanning: no buffer management, no Lua.
 *
 * A read that waits for its separator calls ac_sep_find after each arrival
 * of data, with the same ac_sepscan. The scan remembers how far the bytes
 * were searched, so each byte is looked at about once however the record
 * arrives: a peer that sends a 64 KiB line a byte at a time costs 64 KiB
 * of searching, not 2 GiB. */
#ifndef ALUA_CORE_SEPSCAN_H
#define ALUA_CORE_SEPSCAN_H

#include <stddef.h>

typedef struct ac_sepscan {
  size_t from;  /* no separator starts before this offset (0 to begin) */
  size_t len;   /* result: see ac_sep_find */
  int found;    /* result of -EMSGSIZE: the separator is there, past the limit */
} ac_sepscan;

static inline void ac_sep_init(ac_sepscan *sc) {
  sc->from = sc->len = 0;
  sc->found = 0;
}

/* Looks for the seplen-byte separator sep in the n bytes at p, the unread
 * bytes of a stream (the same bytes, plus those that arrived since, as in
 * the previous call with sc; reset sc when bytes are consumed). Returns:
 *   0         found: sc->len bytes make the record, separator included;
 *   -EAGAIN   not found, and a record that fits `limit` may still come:
 *             wait for more bytes (or the end of the stream);
 *   -EMSGSIZE the record is longer than `limit` bytes before its separator.
 *             sc->found says whether the separator is there; sc->len is
 *             asyncio's `consumed`: the separator's offset if found, else
 *             the bytes that cannot begin a separator (n - seplen + 1);
 *   -EINVAL   seplen is 0. */
int ac_sep_find(ac_sepscan *sc, const char *p, size_t n, const void *sep, size_t seplen, size_t limit);

#endif

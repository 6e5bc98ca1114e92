/* Finding a record separator, or the first of several, in a stream's
 * unread bytes under a length limit, as asyncio's StreamReader.readuntil
 * does (readline is readuntil of "\n"). Pure scanning: no buffer
 * management, no Lua.
 *
 * A read that waits for its separator calls ac_sep_find (or
 * ac_sep_find_any) after each arrival of data, with the same ac_sepscan.
 * The scan remembers how far the bytes were searched, so each byte is
 * looked at about once (once per separator) however the record arrives: a
 * peer that sends a 64 KiB line a byte at a time costs 64 KiB of searching,
 * not 2 GiB. */
#ifndef ALUA_CORE_SEPSCAN_H
#define ALUA_CORE_SEPSCAN_H

#include <stddef.h>

typedef struct ac_sepscan {
  size_t from;  /* no separator starts before this offset (0 to begin); for
                 * ac_sep_find_any, no separator ends at or before it */
  size_t len;   /* result: see ac_sep_find */
  size_t which; /* result of ac_sep_find_any: the index of the separator matched */
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

typedef struct ac_sep {
  const char *p;
  size_t len;
} ac_sep;

/* ac_sep_find with the nseps separators at seps, as Python 3.13's readuntil
 * given a tuple: the record ends at the match that ends first, and of
 * matches that end at the same offset the shortest separator's is taken.
 * (So a match that starts first may lose: of "abc" and "b", "b" ends "xabc"
 * at "xab".) The order of seps does not matter. Returns as ac_sep_find,
 * with these differences: sc->which is the index of the separator matched
 * (on 0, and on -EMSGSIZE with sc->found); without a match, the bytes that
 * cannot begin a separator are counted with the longest one's length
 * (n - maxlen + 1, or 0 when n < maxlen); -EINVAL when nseps is 0 or a
 * separator is empty. Each separator is searched in the new bytes only,
 * and not past a match already found, so a buffer full of short records is
 * not searched to its end for each record. */
int ac_sep_find_any(ac_sepscan *sc, const char *p, size_t n, const ac_sep *seps, size_t nseps, size_t limit);

#endif

/* libFuzzer target for the stream parsers: a stream's read buffer (ac_buf)
 * and the separator search under a limit (ac_sep_find, and ac_sep_find_any
 * for readuntil of a list of separators), driven the way
 * src/lua/io/stream.c drives them (readline, readuntil, readexactly, read,
 * the end of the stream, a cancelled read), and checked after every step
 * against a model written as asyncio's StreamReader reads: a plain byte
 * array searched from its start each time.
 *
 * The input is a program. Two bytes choose the limit (1..64), the number
 * of separators (1..4) and the first one's length (1..4): the low two bits
 * of the second byte are the length, the next two the number less one. The
 * first separator's bytes follow, then for each other one a byte whose low
 * two bits are its length less one, and its bytes. Then each byte is an
 * operation: bytes arrive (a count and the bytes), a read starts
 * (readline, readuntil, readexactly n, read n), the stream ends, the
 * waiting read is cancelled. A read that cannot finish waits, as a parked
 * task does, and is tried again whenever bytes arrive or the stream ends. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buffer.h"
#include "core/sepscan.h"

#define check(c) ((c) ? (void)0 : abort())

/* The input, read from the front. */
typedef struct input {
  const uint8_t *p;
  size_t n;
} input;

static int next(input *in) {
  if (in->n == 0) return -1;
  in->n--;
  return *in->p++;
}

/* What a read attempt does. */
enum { WAIT, TAKE, OVERRUN, INCOMPLETE };
enum { READLINE, READUNTIL, READEXACTLY, READ };

typedef struct outcome {
  int what;        /* WAIT, TAKE, OVERRUN, INCOMPLETE */
  size_t n;        /* TAKE: bytes returned; OVERRUN: consumed; INCOMPLETE: partial bytes */
  int found;       /* OVERRUN: the separator was found */
} outcome;

/* -- the model: asyncio's algorithms over a plain array ------------------- */

static uint8_t model[1 << 16];
static size_t mlen;

static long naive_find(const uint8_t *sep, size_t seplen) {
  for (size_t i = 0; i + seplen <= mlen; i++)
    if (memcmp(model + i, sep, seplen) == 0) return (long)i;
  return -1;
}

static void model_drop(size_t n) {
  memmove(model, model + n, mlen - n);
  mlen -= n;
}

/* The separators of a read: readline's "\n", or readuntil's. */
typedef struct seps {
  size_t n;
  ac_sep sep[4];
} seps;

/* One attempt of the read `kind`, as StreamReader does it. A readuntil of
 * several separators is 3.13's: each is searched from the start, shortest
 * first, and a match is taken when it ends before the one taken. */
static outcome model_read(int kind, size_t n, const seps *ss, size_t limit, int eof) {
  outcome o = {WAIT, 0, 0};
  if (kind == READ) {
    if (n == 0) o.what = TAKE;
    else if (n == SIZE_MAX ? eof : mlen > 0 || eof) o.what = TAKE, o.n = mlen < n ? mlen : n;
  } else if (kind == READEXACTLY) {
    if (mlen >= n) o.what = TAKE, o.n = n;
    else if (eof) o.what = INCOMPLETE, o.n = mlen;
  } else {
    size_t minlen = SIZE_MAX, maxlen = 0;
    size_t seplen = 0; /* the length of the match taken */
    for (size_t i = 0; i < ss->n; i++) {
      if (ss->sep[i].len < minlen) minlen = ss->sep[i].len;
      if (ss->sep[i].len > maxlen) maxlen = ss->sep[i].len;
    }
    long pos = -1;
    for (size_t len = minlen; len <= maxlen; len++)
      for (size_t i = 0; i < ss->n; i++) {
        if (ss->sep[i].len != len) continue;
        long at = naive_find((const uint8_t *)ss->sep[i].p, len);
        if (at >= 0 && (pos < 0 || (size_t)at + len < (size_t)pos + seplen)) pos = at, seplen = len;
      }
    if (pos >= 0 && (size_t)pos > limit) {
      o.what = OVERRUN, o.n = (size_t)pos, o.found = 1;
    } else if (pos >= 0) {
      o.what = TAKE, o.n = (size_t)pos + seplen;
    } else if (mlen >= maxlen && mlen + 1 - maxlen > limit) {
      o.what = OVERRUN, o.n = mlen + 1 - maxlen;
    } else if (eof) {
      if (kind == READLINE) o.what = TAKE, o.n = mlen;
      else o.what = INCOMPLETE, o.n = mlen;
    }
    /* readline: the overlong line goes (with its separator if it came) */
    if (o.what == OVERRUN && kind == READLINE) {
      if (o.found) model_drop(o.n + seplen);
      else mlen = 0;
    }
  }
  if (o.what == TAKE || o.what == INCOMPLETE) model_drop(o.n);
  return o;
}

/* -- the real thing: the buffer and the scanner, as stream.c uses them ---- */

static ac_buf buf;
static ac_sepscan scan;
static ac_sepscan scan_any; /* one separator: ac_sep_find_any alongside, to agree */

static outcome real_read(int kind, size_t n, const seps *ss, size_t limit, int eof, int first) {
  outcome o = {WAIT, 0, 0};
  size_t len = ac_buf_len(&buf);
  if (kind == READ) {
    if (n == 0) o.what = TAKE;
    else if (n == SIZE_MAX ? eof : len > 0 || eof) o.what = TAKE, o.n = len < n ? len : n;
  } else if (kind == READEXACTLY) {
    if (len >= n) o.what = TAKE, o.n = n;
    else if (eof) o.what = INCOMPLETE, o.n = len;
  } else {
    if (first) ac_sep_init(&scan);
    int rc;
    size_t which = 0, seplen = ss->sep[0].len;
    if (ss->n == 1) {
      rc = ac_sep_find(&scan, ac_buf_head(&buf), len, ss->sep[0].p, seplen, limit);
      if (first) ac_sep_init(&scan_any);
      int rc_any = ac_sep_find_any(&scan_any, ac_buf_head(&buf), len, ss->sep, 1, limit);
      check(rc_any == rc);
      check(rc == -EAGAIN || (scan_any.len == scan.len && scan_any.found == scan.found));
    } else {
      rc = ac_sep_find_any(&scan, ac_buf_head(&buf), len, ss->sep, ss->n, limit);
      if (rc == 0 || (rc == -EMSGSIZE && scan.found)) {
        check(scan.which < ss->n);
        which = scan.which, seplen = ss->sep[which].len;
      }
    }
    check(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE);
    check(scan.from <= len);
    if (rc == -EMSGSIZE && scan.found) {
      check(scan.len + seplen <= len);
      check(memcmp(ac_buf_head(&buf) + scan.len, ss->sep[which].p, seplen) == 0);
    }
    if (rc == 0) {
      check(scan.len >= seplen && scan.len <= len && scan.len <= limit + seplen);
      check(memcmp(ac_buf_head(&buf) + scan.len - seplen, ss->sep[which].p, seplen) == 0);
      o.what = TAKE, o.n = scan.len;
    } else if (rc == -EMSGSIZE) {
      o.what = OVERRUN, o.n = scan.len, o.found = scan.found;
      if (kind == READLINE) ac_buf_consume(&buf, scan.found ? scan.len + seplen : len);
    } else if (eof) {
      o.what = kind == READLINE ? TAKE : INCOMPLETE, o.n = len;
    }
  }
  if (o.what == TAKE || o.what == INCOMPLETE) {
    ac_buf_consume(&buf, o.n);
    /* stream.c gives a big buffer back once it is empty */
    if (ac_buf_len(&buf) == 0 && buf.cap > 1024) ac_buf_reset(&buf, 1024);
  }
  return o;
}

static void same_bytes(void) {
  check(ac_buf_len(&buf) == mlen);
  check(mlen == 0 || memcmp(ac_buf_head(&buf), model, mlen) == 0);
  check(buf.start <= buf.end && buf.end <= buf.cap);
}

/* Tries the waiting read; returns 1 when it finished. */
static int attempt(int kind, size_t n, const seps *ss, size_t limit, int eof, int first) {
  /* both sides see the same bytes before the attempt */
  same_bytes();
  outcome m = model_read(kind, n, ss, limit, eof);
  outcome r = real_read(kind, n, ss, limit, eof, first);
  check(m.what == r.what);
  check(m.what == WAIT || (m.n == r.n && m.found == r.found));
  same_bytes();
  return r.what != WAIT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input in = {data, size};
  int b0 = next(&in), b1 = next(&in);
  if (b1 < 0) return 0;
  size_t limit = 1 + (size_t)b0 % 64;
  static uint8_t sepbytes[4][4];
  seps until = {1 + (size_t)b1 / 4 % 4, {{0}}};
  for (size_t j = 0; j < until.n; j++) {
    int c = j == 0 ? b1 : next(&in);
    if (c < 0) return 0;
    until.sep[j].len = 1 + (size_t)c % 4;
    until.sep[j].p = (const char *)sepbytes[j];
    for (size_t i = 0; i < until.sep[j].len; i++) {
      if ((c = next(&in)) < 0) return 0;
      sepbytes[j][i] = (uint8_t)c;
    }
  }
  ac_buf_init(&buf);
  mlen = 0;
  int eof = 0;
  int pending = -1; /* the waiting read's kind, or -1 */
  size_t pn = 0;     /* its size (readexactly, read) */
  static const seps line = {1, {{"\n", 1}}};
  const seps *ps = &until; /* its separators: readline's is "\n" */
  int op;
  while ((op = next(&in)) >= 0) {
    switch (op % 9) {
    case 0:
    case 1:
    case 2: { /* bytes arrive, in a reserve / commit as fill() does, or appended */
      int k = next(&in);
      if (k < 0 || eof) break;
      size_t count = (size_t)k % 80;
      if (count > in.n) count = in.n;
      if (mlen + count > sizeof model) break;
      if (op % 9 == 2) {
        check(ac_buf_append(&buf, in.p, count) == 0);
      } else {
        size_t room = op % 9 == 0 ? count : 64;
        check(ac_buf_reserve(&buf, room > count ? room : count) == 0);
        check(ac_buf_room(&buf) >= count);
        if (count) memcpy(ac_buf_tail(&buf), in.p, count);
        ac_buf_commit(&buf, count);
      }
      memcpy(model + mlen, in.p, count);
      mlen += count;
      in.p += count;
      in.n -= count;
      if (pending >= 0 && attempt(pending, pn, ps, limit, eof, 0)) pending = -1;
      break;
    }
    case 3:
    case 4:
    case 5:
    case 6: { /* a read starts (one at a time, as stream.c allows) */
      if (pending >= 0) break;
      int kind = op % 9 - 3;
      size_t n = 0;
      if (kind == READEXACTLY || kind == READ) {
        int c = next(&in);
        if (c < 0) break;
        n = kind == READ && c == 255 ? SIZE_MAX : (size_t)c;
      }
      ps = kind == READLINE ? &line : &until;
      if (!attempt(kind, n, ps, limit, eof, 1)) pending = kind, pn = n;
      break;
    }
    case 7: /* the end of the stream */
      eof = 1;
      /* at the end every read finishes */
      if (pending >= 0) check(attempt(pending, pn, ps, limit, eof, 0));
      pending = -1;
      break;
    case 8: /* the waiting read is cancelled: its bytes stay */
      pending = -1;
      break;
    }
  }
  same_bytes();
  ac_buf_free(&buf);
  return 0;
}

#include "sepscan.h"

#include <errno.h>
#include <string.h>

int ac_sep_find(ac_sepscan *sc, const char *p, size_t n, const void *sep, size_t seplen, size_t limit) {
  if (seplen == 0) return -EINVAL;
  sc->found = 0;
  if (sc->from > n) sc->from = 0; /* not the same bytes: start over */
  if (n - sc->from >= seplen) {
    const char *hit = seplen == 1 ? memchr(p + sc->from, *(const char *)sep, n - sc->from)
                                  : memmem(p + sc->from, n - sc->from, sep, seplen);
    if (hit) {
      size_t pos = (size_t)(hit - p);
      sc->from = pos;
      if (pos > limit) {
        sc->found = 1;
        sc->len = pos;
        return -EMSGSIZE;
      }
      sc->len = pos + seplen;
      return 0;
    }
    sc->from = n - seplen + 1;
  }
  if (sc->from > limit) {
    sc->len = sc->from;
    return -EMSGSIZE;
  }
  return -EAGAIN;
}

/* Searches in windows that double from the end of what was searched, so the
 * cost is about the record's length per separator, not the buffer's. */
int ac_sep_find_any(ac_sepscan *sc, const char *p, size_t n, const ac_sep *seps, size_t nseps, size_t limit) {
  if (nseps == 0) return -EINVAL;
  size_t maxlen = 0;
  for (size_t i = 0; i < nseps; i++) {
    if (seps[i].len == 0) return -EINVAL;
    if (seps[i].len > maxlen) maxlen = seps[i].len;
  }
  sc->found = 0;
  size_t done = sc->from <= n ? sc->from : 0; /* else not the same bytes: start over */
  size_t start = 0, end = 0, which = 0;      /* the best match; end 0: none yet */
  for (size_t step = 256; !end && done < n; step *= 2) {
    size_t stop = n - done > step ? done + step : n; /* matches that end by stop */
    for (size_t i = 0; i < nseps; i++) {
      size_t len = seps[i].len;
      size_t from = done >= len ? done - len + 1 : 0;
      /* to win, a match ends before the best one, or with it if shorter */
      size_t to = !end ? stop : len < end - start ? end : end - 1;
      if (to < from || to - from < len) continue;
      const char *hit = len == 1 ? memchr(p + from, *seps[i].p, to - from) : memmem(p + from, to - from, seps[i].p, len);
      if (hit) {
        start = (size_t)(hit - p);
        end = start + len;
        which = i;
      }
    }
    done = stop;
  }
  if (end) {
    sc->from = end - 1;
    sc->which = which;
    if (start > limit) {
      sc->found = 1;
      sc->len = start;
      return -EMSGSIZE;
    }
    sc->len = end;
    return 0;
  }
  sc->from = n;
  size_t offset = n >= maxlen ? n - maxlen + 1 : 0;
  if (offset > limit) {
    sc->len = offset;
    return -EMSGSIZE;
  }
  return -EAGAIN;
}

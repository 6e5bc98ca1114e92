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

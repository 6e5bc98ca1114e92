/* Lazily copied output with edits. */
#include "syntax/emit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void at_emit_init(struct emit *e, const char *src, size_t srclen, size_t head,
               const char *pre) {
  e->src = src;
  e->srclen = srclen;
  e->done = head;
  e->head = head;
  e->pre = pre;
  e->buf = NULL;
  e->len = 0;
  e->cap = 0;
  e->err = 0;
  e->hint = srclen < SIZE_MAX / 4 ? srclen + srclen / 16 + strlen(pre) + 256 : srclen;
}

/* Makes room for n more bytes plus a NUL; returns 0 or -ENOMEM. */
static int reserve(struct emit *e, size_t n) {
  if (e->err)
    return e->err;
  if (n > SIZE_MAX / 2 - e->len) {
    e->err = -ENOMEM;
    return e->err;
  }
  size_t need = e->len + n + 1;
  if (need <= e->cap)
    return 0;
  size_t cap = e->cap ? e->cap : e->hint;
  while (cap < need)
    cap *= 2;
  char *p = realloc(e->buf, cap);
  if (!p) {
    e->err = -ENOMEM;
    return e->err;
  }
  e->buf = p;
  e->cap = cap;
  return 0;
}

static void put(struct emit *e, const char *s, size_t n) {
  if (n == 0 || reserve(e, n))
    return;
  memcpy(e->buf + e->len, s, n);
  e->len += n;
}

/* Writes the input up to offset at, starting the output on the first call. */
static void flush(struct emit *e, size_t at) {
  if (!e->buf && !e->err) {
    if (reserve(e, 1))
      return;
    put(e, e->src, e->head);
    put(e, e->pre, strlen(e->pre));
  }
  if (at > e->done) {
    put(e, e->src + e->done, at - e->done);
    e->done = at;
  }
}

void at_emit_insertn(struct emit *e, size_t at, const char *s, size_t n) {
  flush(e, at);
  put(e, s, n);
}

void at_emit_insert(struct emit *e, size_t at, const char *s) {
  at_emit_insertn(e, at, s, strlen(s));
}

void at_emit_drop(struct emit *e, size_t from, size_t to) {
  flush(e, from);
  if (to <= e->done)
    return;
  const char *s = e->src;
  bool broke = false;
  for (size_t i = e->done; i < to; i++) {
    if (s[i] != '\n' && s[i] != '\r')
      continue;
    if (!broke && e->len > 0 && e->buf[e->len - 1] == '\r')
      put(e, " ", 1);
    put(e, "\n", 1);
    broke = true;
    if (i + 1 < to && (s[i + 1] == '\n' || s[i + 1] == '\r') && s[i + 1] != s[i])
      i++;
  }
  if (broke && to < e->srclen && s[to] == '\r')
    put(e, " ", 1);
  e->done = to;
}

int at_emit_finish(struct emit *e, size_t srclen, char **out, size_t *outlen) {
  if (e->err) {
    at_emit_free(e);
    return e->err;
  }
  if (!e->buf) {
    /* no edit: the output is the input */
    char *p = malloc(srclen + 1);
    if (!p)
      return -ENOMEM;
    if (srclen)
      memcpy(p, e->src, srclen);
    p[srclen] = '\0';
    *out = p;
    *outlen = srclen;
    return 0;
  }
  flush(e, srclen);
  if (e->err || reserve(e, 0)) {
    at_emit_free(e);
    return -ENOMEM;
  }
  e->buf[e->len] = '\0';
  *out = e->buf;
  *outlen = e->len;
  e->buf = NULL;
  return 0;
}

void at_emit_free(struct emit *e) {
  free(e->buf);
  e->buf = NULL;
}

#include "buffer.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ac_buf_free(ac_buf *b) {
  free(b->data);
  ac_buf_init(b);
}

int ac_buf_reserve(ac_buf *b, size_t n) {
  if (b->cap - b->end >= n) return 0;
  size_t len = b->end - b->start;
  if (b->start > 0 && b->cap - len >= n) {
    memmove(b->data, b->data + b->start, len);
    b->start = 0;
    b->end = len;
    return 0;
  }
  if (n > SIZE_MAX / 2 - len) return -ENOMEM;
  size_t want = len + n;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < want) cap *= 2;
  /* Why a fresh block and not realloc: realloc would copy the consumed
   * bytes before `start` too, and we want the unread ones at the front. */
  char *p = malloc(cap);
  if (!p) return -ENOMEM;
  if (len) memcpy(p, b->data + b->start, len);
  free(b->data);
  b->data = p;
  b->start = 0;
  b->end = len;
  b->cap = cap;
  return 0;
}

int ac_buf_append(ac_buf *b, const void *p, size_t n) {
  if (n == 0) return 0;
  int rc = ac_buf_reserve(b, n);
  if (rc) return rc;
  memcpy(b->data + b->end, p, n);
  b->end += n;
  return 0;
}

void ac_buf_consume(ac_buf *b, size_t n) {
  b->start += n;
  if (b->start >= b->end) b->start = b->end = 0;
}

void ac_buf_reset(ac_buf *b, size_t keep) {
  b->start = b->end = 0;
  if (b->cap > keep) ac_buf_free(b);
}

long ac_buf_find(const ac_buf *b, size_t from, const void *needle, size_t n) {
  size_t len = b->end - b->start;
  if (n == 0 || from >= len || len - from < n) return -1;
  const char *head = b->data + b->start;
  const char *p;
  if (n == 1) p = memchr(head + from, *(const char *)needle, len - from);
  else p = memmem(head + from, len - from, needle, n);
  return p ? (long)(p - head) : -1;
}

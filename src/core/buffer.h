/* A growable byte buffer with a read offset: bytes are appended at the end
 * and consumed from the front, as a stream's read and write buffers need.
 *
 * Consuming never moves memory; the unread bytes move to the front only when
 * space is reserved and the room before them is what makes it fit, so a
 * buffer that is filled and emptied in turns (the usual case: one message in,
 * one message out) never copies and never allocates once warm. Functions
 * that can fail return 0 or -ENOMEM and leave the buffer unchanged. No Lua,
 * no global state. */
#ifndef ALUA_CORE_BUFFER_H
#define ALUA_CORE_BUFFER_H

#include <stddef.h>

typedef struct ac_buf {
  char *data;   /* storage, malloc'd; NULL until the first reserve */
  size_t start; /* offset of the first unread byte */
  size_t end;   /* offset just past the last byte */
  size_t cap;   /* bytes allocated */
} ac_buf;

static inline void ac_buf_init(ac_buf *b) {
  b->data = NULL;
  b->start = b->end = b->cap = 0;
}

/* Unread bytes. */
static inline size_t ac_buf_len(const ac_buf *b) { return b->end - b->start; }

/* First unread byte (valid for ac_buf_len bytes). NULL before the first
 * reserve: arithmetic on a null pointer is undefined, even adding 0. */
static inline char *ac_buf_head(const ac_buf *b) { return b->data ? b->data + b->start : NULL; }

/* Where the next bytes go after ac_buf_reserve (valid for ac_buf_room). */
static inline char *ac_buf_tail(const ac_buf *b) { return b->data ? b->data + b->end : NULL; }
static inline size_t ac_buf_room(const ac_buf *b) { return b->cap - b->end; }

/* Frees the storage; the buffer is empty and usable afterwards. */
void ac_buf_free(ac_buf *b);

/* Makes room for at least n more bytes at the tail: moves the unread bytes
 * to the front when that suffices, else grows (at least doubling). */
int ac_buf_reserve(ac_buf *b, size_t n);

/* Marks n bytes written at the tail (n <= ac_buf_room). */
static inline void ac_buf_commit(ac_buf *b, size_t n) { b->end += n; }

/* Appends n bytes. */
int ac_buf_append(ac_buf *b, const void *p, size_t n);

/* Drops the first n unread bytes (n <= ac_buf_len); an emptied buffer
 * rewinds to offset 0, so the next fill starts at the front. */
void ac_buf_consume(ac_buf *b, size_t n);

/* Drops every unread byte; storage above `keep` bytes is freed, so a buffer
 * that once held a burst does not keep it forever. */
void ac_buf_reset(ac_buf *b, size_t keep);

/* Offset (from the head) of the first occurrence of the n-byte needle at or
 * after offset `from`, or -1. n == 0 finds nothing. */
long ac_buf_find(const ac_buf *b, size_t from, const void *needle, size_t n);

#endif

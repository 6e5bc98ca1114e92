/* The translator's output: the input copied lazily, with edits at increasing
 * offsets. Bytes between edits are copied only when the next edit comes, so
 * input without edits costs nothing here. */
#ifndef ALUA_SYNTAX_EMIT_H
#define ALUA_SYNTAX_EMIT_H

#include <stddef.h>

struct emit {
  const char *src;    /* the input */
  size_t srclen;      /* its length */
  size_t done;        /* input before this offset has been written out */
  size_t head;        /* input bytes written verbatim before the preamble */
  const char *pre;    /* preamble written at offset head by the first edit */
  char *buf;          /* the output so far (malloc'd) */
  size_t len;         /* bytes used in buf */
  size_t cap;         /* bytes allocated for buf */
  size_t hint;        /* expected output size, for the first allocation */
  int err;            /* 0, or -ENOMEM once an allocation failed */
};

/* Starts an output for src; the first edit also writes src[0..head) and then
 * pre (a NUL-terminated string), and editing starts at offset head. */
void at_emit_init(struct emit *e, const char *src, size_t srclen, size_t head,
               const char *pre);

/* Inserts s (NUL-terminated) at input offset at (clamped to what is already
 * written). */
void at_emit_insert(struct emit *e, size_t at, const char *s);

/* Like at_emit_insert for s[0..n). */
void at_emit_insertn(struct emit *e, size_t at, const char *s, size_t n);

/* Drops input [from, to) except its line breaks, one '\n' each (counted as
 * Lua counts them), so later input stays on its line. A space keeps them
 * from pairing with a '\r' next to them ("\r\n" is one break for Lua). */
void at_emit_drop(struct emit *e, size_t from, size_t to);

/* Writes the rest of the input up to srclen and a terminating NUL. Returns 0
 * or -ENOMEM; on success *out owns the buffer. */
int at_emit_finish(struct emit *e, size_t srclen, char **out, size_t *outlen);

/* Frees the buffer of an output that will not be finished. */
void at_emit_free(struct emit *e);

#endif

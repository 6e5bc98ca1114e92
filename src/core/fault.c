#include "fault.h"

#ifdef ALUA_FAULT_INJECTION

#include <stdlib.h>
#include <string.h>

/* Per thread: only the arming thread counts (fault.h). */
static _Thread_local struct {
  int armed;               /* counting */
  unsigned long requests;  /* seen since arming */
  unsigned long nth;       /* first request to fail, 0 for none */
  unsigned long count;     /* how many fail from nth on, 0 for all */
  unsigned long failures;  /* refused since arming */
} f;

void ac_fault_arm(unsigned long nth, unsigned long count) {
  f.armed = 1;
  f.requests = f.failures = 0;
  f.nth = nth;
  f.count = count;
}

void ac_fault_retarget(unsigned long nth, unsigned long count) {
  f.failures = 0;
  f.nth = nth;
  f.count = count;
}

void ac_fault_disarm(void) { f.armed = 0; }

int ac_fault_hit(void) {
  if (!f.armed) return 0;
  unsigned long i = ++f.requests;
  if (!f.nth || i < f.nth || (f.count && i - f.nth >= f.count)) return 0;
  f.failures++;
  return 1;
}

unsigned long ac_fault_requests(void) { return f.requests; }
unsigned long ac_fault_failures(void) { return f.failures; }

/* The allocation functions of alua's own objects. A fault build links
 * with -Wl,--wrap=malloc (and the others), which sends every call of these
 * functions from alua's objects here and makes __real_malloc the C
 * library's; libraries linked dynamically (libc itself, liblua) keep theirs. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) { return ac_fault_hit() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return ac_fault_hit() ? NULL : __real_calloc(n, size); }
/* realloc to 0 frees, which cannot fail */
void *__wrap_realloc(void *p, size_t n) { return n && ac_fault_hit() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return ac_fault_hit() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return ac_fault_hit() ? NULL : __real_strndup(s, n); }

#endif

/* Array-based 4-ary heap (the layout Go's runtime timers use): the children
 * of slot k are 4k+1 .. 4k+4. The array starts three slots into a 64-byte
 * aligned block, so each group of four siblings fills one cache line.
 *
 * A node's `where` says where it is:
 *   0              not in a heap;
 *   (k + 1) << 1   in slots[k] (even, never 0);
 *   next | 1       on the spill list, `next` being the following node (or
 *                  NULL): nodes are pointer-aligned, so bit 0 is free. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fault.h"

/* The fewest slots the array keeps once it exists. */
#define MIN_CAP 64
/* Slots of one cache line, and the offset that aligns sibling groups. */
#define LINE 64
#define SKEW 3

static uintptr_t at_slot(size_t k) { return (uintptr_t)(k + 1) << 1; }
static int in_slots(uintptr_t w) { return w != 0 && (w & 1) == 0; }
static size_t slot_index(uintptr_t w) { return (size_t)(w >> 1) - 1; }
static ac_timer *spill_next(uintptr_t w) { return (ac_timer *)(w & ~(uintptr_t)1); }

static int timer_before(const ac_timer *a, const ac_timer *b) {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->seq < b->seq;
}

/* Reads the nodes only on equal deadlines, which is rare: deadlines come
 * from a nanosecond clock. */
static int slot_before(const ac_heap_slot *a, const ac_heap_slot *b) {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->timer->seq < b->timer->seq;
}

void ac_heap_init(ac_heap *h) { memset(h, 0, sizeof *h); }

void ac_timer_init(ac_timer *t, void (*fn)(ac_timer *t)) {
  t->deadline = 0;
  t->seq = 0;
  t->fn = fn;
  t->where = 0;
}

int ac_timer_active(const ac_timer *t) { return t->where != 0; }

/* Arrays of at least this many bytes are mappings of their own, so that
 * shrinking gives them back: malloc keeps a freed multi-megabyte block in
 * its heap once its adaptive mmap threshold has risen past that size (a
 * million timers then left 6 MB behind). */
#define MAP_MIN ((size_t)256 << 10)

static size_t bytes_for(size_t cap) { return (cap + SKEW) * sizeof(ac_heap_slot) + LINE - 1; }

static void *mem_get(size_t bytes) {
  if (bytes < MAP_MIN) return malloc(bytes);
  if (ac_fault_hit()) return NULL;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void mem_put(void *p, size_t bytes) {
  if (!p) return;
  if (bytes < MAP_MIN) free(p);
  else munmap(p, bytes);
}

void ac_heap_close(ac_heap *h) {
  mem_put(h->mem, bytes_for(h->cap));
  ac_heap_init(h);
}

/* Moves the array into a block of `cap` slots (cap >= count); 0 on
 * success, -1 when memory runs out (the array is then unchanged). */
static int resize(ac_heap *h, size_t cap) {
  if (cap > (SIZE_MAX - LINE) / sizeof(ac_heap_slot) - SKEW) return -1;
  void *mem = mem_get(bytes_for(cap));
  if (!mem) return -1;
  ac_heap_slot *slots = (ac_heap_slot *)(((uintptr_t)mem + LINE - 1) & ~(uintptr_t)(LINE - 1)) + SKEW;
  if (h->count) memcpy(slots, h->slots, h->count * sizeof *slots);
  mem_put(h->mem, bytes_for(h->cap));
  h->mem = mem;
  h->slots = slots;
  h->cap = cap;
  return 0;
}

static void put(ac_heap *h, size_t k, ac_heap_slot e) {
  h->slots[k] = e;
  e.timer->where = at_slot(k);
}

/* Places e at hole k or above it. */
static void sift_up(ac_heap *h, size_t k, ac_heap_slot e) {
  while (k > 0) {
    size_t p = (k - 1) / 4;
    if (!slot_before(&e, &h->slots[p])) break;
    put(h, k, h->slots[p]);
    k = p;
  }
  put(h, k, e);
}

/* Places e at hole k or below it. */
static void sift_down(ac_heap *h, size_t k, ac_heap_slot e) {
  size_t n = h->count;
  for (;;) {
    size_t c = 4 * k + 1;
    if (c >= n) break;
    size_t end = c + 4 < n ? c + 4 : n, m = c;
    /* The grandchildren are the 16 slots from 4c + 1 on, four cache lines
     * in a row: fetch them while these children are compared, so that a
     * deep heap (larger than the caches) waits for memory once per two
     * levels instead of once per level. */
    size_t g = 4 * c + 1;
    if (g < n) {
      const char *p = (const char *)&h->slots[g];
      __builtin_prefetch(p);
      __builtin_prefetch(p + 64);
      __builtin_prefetch(p + 128);
      __builtin_prefetch(p + 192);
    }
    for (size_t j = c + 1; j < end; j++)
      if (slot_before(&h->slots[j], &h->slots[m])) m = j;
    if (!slot_before(&h->slots[m], &e)) break;
    put(h, k, h->slots[m]);
    k = m;
  }
  put(h, k, e);
}

/* Places e at hole k, up or down as order needs. */
static void place(ac_heap *h, size_t k, ac_heap_slot e) {
  if (k > 0 && slot_before(&e, &h->slots[(k - 1) / 4]))
    sift_up(h, k, e);
  else
    sift_down(h, k, e);
}

/* Adds t to the array; 0, or -1 when the array is full and cannot grow. */
static int add(ac_heap *h, ac_timer *t) {
  if (h->count == h->cap && resize(h, h->cap ? h->cap * 2 : MIN_CAP) != 0) return -1;
  h->count++;
  sift_up(h, h->count - 1, (ac_heap_slot){t->deadline, t});
  return 0;
}

/* Moves spilled timers into the array while it has room or can grow. */
static void unspill(ac_heap *h) {
  while (h->spilled) {
    if (h->count == h->cap && resize(h, h->cap ? h->cap * 2 : MIN_CAP) != 0) return;
    ac_timer *t = h->spilled;
    h->spilled = spill_next(t->where);
    h->nspilled--;
    add(h, t);
  }
}

void ac_heap_insert(ac_heap *h, ac_timer *t, uint64_t deadline) {
  t->deadline = deadline;
  t->seq = h->next_seq++;
  if (in_slots(t->where)) {
    size_t k = slot_index(t->where);
    if (k < h->count && h->slots[k].timer == t) {
      place(h, k, (ac_heap_slot){deadline, t});
      return;
    }
    t->where = 0; /* stale: its heap was closed */
  }
  if (t->where & 1) return; /* spilled: that list is unordered */
  if (add(h, t) != 0) {
    t->where = (uintptr_t)h->spilled | 1;
    h->spilled = t;
    h->nspilled++;
    return;
  }
  if (h->spilled) unspill(h);
}

void ac_heap_remove(ac_heap *h, ac_timer *t) {
  uintptr_t w = t->where;
  if (w == 0) return;
  t->where = 0;
  if (w & 1) {
    ac_timer *prev = NULL, *cur = h->spilled;
    while (cur && cur != t) prev = cur, cur = spill_next(cur->where);
    if (!cur) return; /* its heap was closed */
    if (prev)
      prev->where = (uintptr_t)spill_next(w) | 1;
    else
      h->spilled = spill_next(w);
    h->nspilled--;
    return;
  }
  size_t k = slot_index(w);
  if (k >= h->count || h->slots[k].timer != t) return; /* its heap was closed */
  size_t last = --h->count;
  if (k != last) place(h, k, h->slots[last]);
  /* Give memory back once the array is mostly empty (a burst of a million
   * timers leaves 16 MB otherwise); halving leaves room to grow by half
   * again before the next resize. */
  if (h->cap > MIN_CAP && h->count < h->cap / 4) resize(h, h->cap / 2);
}

ac_timer *ac_heap_min_spilled(const ac_heap *h) {
  ac_timer *m = h->count ? h->slots[0].timer : NULL;
  for (ac_timer *t = h->spilled; t; t = spill_next(t->where))
    if (!m || timer_before(t, m)) m = t;
  return m;
}

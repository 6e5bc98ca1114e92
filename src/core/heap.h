/* Intrusive binary min-heap of timers ordered by (deadline, seq).
 *
 * The node lives inside its owner (a task, a handle); the heap links nodes
 * with parent/child pointers, so insertion and removal are O(log n) and never
 * allocate. `seq` is assigned at insertion from a per-heap counter, which makes
 * timers with equal deadlines come out in the order they were inserted. */
#ifndef ALUA_CORE_HEAP_H
#define ALUA_CORE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ac_timer {
  uint64_t deadline;       /* monotonic ns at which the timer is due */
  uint64_t seq;            /* insertion order, tie-breaker for equal deadlines */
  struct ac_timer *parent; /* heap links; all NULL when not in a heap */
  struct ac_timer *left;
  struct ac_timer *right;
  void (*fn)(struct ac_timer *t); /* called by the loop when due (after removal) */
  int active;              /* 1 while the timer is in a heap */
} ac_timer;

typedef struct ac_heap {
  ac_timer *min;     /* root, the earliest timer, or NULL */
  size_t count;      /* number of timers in the heap */
  uint64_t next_seq; /* next insertion sequence number */
} ac_heap;

void ac_heap_init(ac_heap *h);

/* Sets up a node that is not in any heap; `fn` is what the loop calls. */
void ac_timer_init(ac_timer *t, void (*fn)(ac_timer *t));

/* Inserts t (which must not be active) with the given deadline. */
void ac_heap_insert(ac_heap *h, ac_timer *t, uint64_t deadline);

/* Removes t if it is active; a no-op otherwise. */
void ac_heap_remove(ac_heap *h, ac_timer *t);

/* The earliest timer, or NULL when the heap is empty. */
static inline ac_timer *ac_heap_min(const ac_heap *h) { return h->min; }

#endif

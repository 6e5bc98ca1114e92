#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/heap.h"

static void nop(ac_timer *t) { (void)t; }

static int before(const ac_timer *a, const ac_timer *b) {
  return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
}

/* The array is a heap: no slot precedes its parent, each slot's deadline
 * is its node's, and every node in it is active. */
static void check_heap(const ac_heap *h) {
  cr_assert_leq(h->count, h->cap);
  for (size_t k = 0; k < h->count; k++) {
    const ac_heap_slot *s = &h->slots[k];
    cr_assert_eq(s->deadline, s->timer->deadline);
    cr_assert(ac_timer_active(s->timer));
    if (k > 0) cr_assert(!before(s->timer, h->slots[(k - 1) / 4].timer), "slot %zu", k);
  }
  /* sibling groups share a cache line */
  if (h->count > 1) cr_assert_eq((uintptr_t)&h->slots[1] % 64, 0);
}

/* Deterministic generator so failures reproduce. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int cmp_timer(const void *a, const void *b) {
  const ac_timer *x = *(ac_timer *const *)a, *y = *(ac_timer *const *)b;
  return before(x, y) ? -1 : before(y, x) ? 1 : 0;
}

Test(heap, empty) {
  ac_heap h;
  ac_heap_init(&h);
  cr_assert_null(ac_heap_min(&h));
  ac_timer t;
  ac_timer_init(&t, nop);
  ac_heap_remove(&h, &t); /* not active: no-op */
  cr_assert_eq(h.count, 0);
  ac_heap_insert(&h, &t, 5);
  cr_assert_eq(ac_heap_min(&h), &t);
  cr_assert(ac_timer_active(&t));
  ac_heap_remove(&h, &t);
  cr_assert_null(ac_heap_min(&h));
  cr_assert_not(ac_timer_active(&t));
  ac_heap_remove(&h, &t); /* twice: still a no-op */
  cr_assert_eq(h.count, 0);
  ac_heap_close(&h);
}

Test(heap, equal_deadlines_fifo) {
  enum { N = 1000 };
  static ac_timer t[N];
  ac_heap h;
  ac_heap_init(&h);
  /* Insert in a scrambled order of deadlines; within a deadline, index order. */
  for (int i = 0; i < N; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], (uint64_t)(i % 3));
  }
  check_heap(&h);
  for (int d = 0; d < 3; d++)
    for (int i = d; i < N; i += 3) {
      ac_timer *m = ac_heap_min(&h);
      cr_assert_eq(m, &t[i], "deadline %d: expected %d got %ld", d, i, (long)(m - t));
      ac_heap_remove(&h, m);
    }
  cr_assert_eq(h.count, 0);
  ac_heap_close(&h);
}

Test(heap, remove_root_leaf_middle) {
  enum { N = 21 }; /* a full 4-ary tree of depth 3 */
  ac_timer t[N];
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < N; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], (uint64_t)(i * 10));
  }
  check_heap(&h);
  /* Ascending inserts keep insertion positions: t[0] root, t[20] last leaf,
   * t[2] in the middle (children in slots 9 to 12). */
  for (int i = 0; i < N; i++) cr_assert_eq(h.slots[i].timer, &t[i]);

  ac_heap_remove(&h, &t[0]);
  check_heap(&h);
  cr_assert_eq(ac_heap_min(&h), &t[1]);
  ac_heap_remove(&h, &t[20]);
  check_heap(&h);
  ac_heap_remove(&h, &t[2]);
  check_heap(&h);
  /* A leaf that is not the last, then the parent of the last slot. */
  ac_heap_remove(&h, &t[10]);
  check_heap(&h);
  ac_timer *last_parent = h.slots[(h.count - 2) / 4].timer;
  ac_heap_remove(&h, last_parent);
  check_heap(&h);
  cr_assert_eq(h.count, (size_t)(N - 5));

  int prev = -1;
  while (ac_heap_min(&h)) {
    ac_timer *m = ac_heap_min(&h);
    int i = (int)(m - t);
    cr_assert_gt(i, prev);
    cr_assert(i != 0 && i != 20 && i != 2 && i != 10 && m != last_parent);
    prev = i;
    ac_heap_remove(&h, m);
  }
  ac_heap_close(&h);
}

Test(heap, removal_moves_last_up) {
  /* Removing a node whose replacement (the last slot) is smaller than the
   * removed node's parent must sift up, not just down. */
  enum { N = 10 };
  ac_timer t[N];
  ac_heap h;
  ac_heap_init(&h);
  /* slot 1 (100) has children 5-8; slot 2 (1) has child 9 (2) */
  uint64_t d[N] = {0, 100, 1, 200, 300, 101, 102, 103, 104, 2};
  for (int i = 0; i < N; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], d[i]);
    cr_assert_eq(h.slots[i].timer, &t[i]);
  }
  ac_heap_remove(&h, &t[6]); /* t[9] (2) fills slot 6, under t[1] (100) */
  check_heap(&h);
  cr_assert_eq(h.slots[1].timer, &t[9], "the replacement moved up");
  ac_heap_remove(&h, &t[3]);
  check_heap(&h);
  uint64_t prev = 0;
  while (ac_heap_min(&h)) {
    cr_assert_geq(ac_heap_min(&h)->deadline, prev);
    prev = ac_heap_min(&h)->deadline;
    ac_heap_remove(&h, ac_heap_min(&h));
  }
  ac_heap_close(&h);
}

Test(heap, insert_moves_an_active_timer) {
  ac_timer a, b, c;
  ac_heap h;
  ac_heap_init(&h);
  ac_timer_init(&a, nop);
  ac_timer_init(&b, nop);
  ac_timer_init(&c, nop);
  ac_heap_insert(&h, &a, 10);
  ac_heap_insert(&h, &b, 20);
  ac_heap_insert(&h, &c, 30);
  ac_heap_insert(&h, &a, 40); /* later */
  check_heap(&h);
  cr_assert_eq(h.count, 3);
  cr_assert_eq(a.seq, 3);
  cr_assert_eq(ac_heap_min(&h), &b);
  ac_heap_insert(&h, &c, 5); /* earlier */
  cr_assert_eq(ac_heap_min(&h), &c);
  ac_heap_insert(&h, &b, 40); /* the same deadline as a, inserted after it */
  ac_heap_remove(&h, &c);
  cr_assert_eq(ac_heap_min(&h), &a);
  ac_heap_remove(&h, &a);
  cr_assert_eq(ac_heap_min(&h), &b);
  ac_heap_close(&h);
}

Test(heap, the_array_grows_and_gives_memory_back) {
  enum { N = 100000 };
  ac_timer *t = malloc(N * sizeof *t);
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < N; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], (uint64_t)((i * 7919) % N)); /* a permutation */
  }
  check_heap(&h);
  cr_assert_geq(h.cap, (size_t)N);
  for (int i = 0; i < N; i++) {
    ac_timer *m = ac_heap_min(&h);
    cr_assert_eq(m->deadline, (uint64_t)i);
    ac_heap_remove(&h, m);
    if (i % 10007 == 0) check_heap(&h);
  }
  cr_assert_eq(h.count, 0);
  cr_assert_eq(h.cap, 64, "drained: back to the smallest array, got %zu", h.cap);
  ac_heap_close(&h);
  free(t);
}

Test(heap, close_drops_timers_without_touching_them) {
  ac_timer t[3];
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < 3; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], 1);
  }
  ac_heap_close(&h);
  cr_assert_null(ac_heap_min(&h));
  cr_assert_eq(ac_heap_size(&h), 0);
  for (int i = 0; i < 3; i++) ac_heap_remove(&h, &t[i]); /* no-ops */
  cr_assert_not(ac_timer_active(&t[2]));
}

Test(heap, random_100k_against_reference) {
  enum { N = 2048, OPS = 100000 };
  static ac_timer t[N];
  static ac_timer *sorted[N];
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < N; i++) ac_timer_init(&t[i], nop);
  size_t active = 0;
  for (int op = 0; op < OPS; op++) {
    ac_timer *x = &t[rnd() % N];
    switch (rnd() % 4) {
    case 0:
    case 1:
      if (ac_timer_active(x)) ac_heap_remove(&h, x), active--;
      /* Small range: plenty of equal deadlines. */
      ac_heap_insert(&h, x, rnd() % 512);
      active++;
      break;
    case 2:
      if (ac_timer_active(x)) active--;
      ac_heap_remove(&h, x);
      cr_assert_not(ac_timer_active(x));
      break;
    case 3: {
      /* The reference minimum: a linear scan. */
      ac_timer *ref = NULL;
      for (int i = 0; i < N; i++)
        if (ac_timer_active(&t[i]) && (!ref || before(&t[i], ref))) ref = &t[i];
      cr_assert_eq(ac_heap_min(&h), ref, "op %d", op);
      if (ref) ac_heap_remove(&h, ref), active--;
      break;
    }
    }
    cr_assert_eq(h.count, active);
    if (op % 4096 == 0) check_heap(&h);
  }
  check_heap(&h);
  /* Drain and compare with a sort of what is left. */
  size_t n = 0;
  for (int i = 0; i < N; i++)
    if (ac_timer_active(&t[i])) sorted[n++] = &t[i];
  cr_assert_eq(n, h.count);
  qsort(sorted, n, sizeof sorted[0], cmp_timer);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(ac_heap_min(&h), sorted[i], "drain %zu", i);
    ac_heap_remove(&h, sorted[i]);
  }
  cr_assert_null(ac_heap_min(&h));
  cr_assert_eq(h.count, 0);
  ac_heap_close(&h);
}

Test(heap, seq_increases_per_heap) {
  ac_heap a, b;
  ac_timer x, y;
  ac_heap_init(&a);
  ac_heap_init(&b);
  ac_timer_init(&x, nop);
  ac_timer_init(&y, nop);
  ac_heap_insert(&a, &x, 1);
  ac_heap_insert(&b, &y, 1);
  cr_assert_eq(x.seq, 0);
  cr_assert_eq(y.seq, 0);
  ac_heap_remove(&a, &x);
  ac_heap_insert(&a, &x, 1);
  cr_assert_eq(x.seq, 1);
  cr_assert_eq(a.next_seq, 2);
  ac_heap_close(&a);
  ac_heap_close(&b);
}

/* Resident bytes of this process. */
static long rss_bytes(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  cr_assert_not_null(f);
  cr_assert_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
  fclose(f);
  return resident * 4096;
}

Test(heap, a_drained_burst_leaves_no_array_behind) {
  /* A million timers need a 16 MB array; draining them shrinks it in
   * halves. Large arrays are mappings of their own, so the memory goes
   * back to the kernel (in malloc's heap the halves would stay). */
  enum { N = 1000000 };
  ac_timer *t = calloc(N, sizeof *t);
  cr_assert_not_null(t);
  for (int i = 0; i < N; i++) ac_timer_init(&t[i], nop);
  long before = rss_bytes();
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < N; i++) ac_heap_insert(&h, &t[i], (uint64_t)((i * 7919L) % N));
  long full = rss_bytes();
  cr_assert_gt(full - before, 15L << 20, "the array is resident: %ld bytes more", full - before);
  while (ac_heap_min(&h)) ac_heap_remove(&h, ac_heap_min(&h));
  long drained = rss_bytes();
#ifdef __SANITIZE_ADDRESS__
  /* AddressSanitizer may keep the shadow of each mapping it saw, an eighth
   * of its size: up to 4 MB for the 32 MB of arrays a drain in halves maps.
   * Still far less than the 16 MB array itself. */
  long slack = 6L << 20;
#else
  long slack = 1L << 20;
#endif
  cr_assert_lt(drained - before, slack, "%ld bytes still resident", drained - before);
  ac_heap_close(&h);
  free(t);
}

/* The size-class allocator: sizes, reuse, resizing across classes, the
 * memory limit, and a random workload checked byte by byte. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static ac_alloc a;

static void setup(void) { ac_alloc_init(&a); }
static void teardown(void) { ac_alloc_close(&a); }

TestSuite(alloc, .init = setup, .fini = teardown);

Test(alloc, small_blocks_are_aligned_and_reused) {
  void *p = ac_alloc_fn(&a, NULL, 7 /* a type tag */, 40);
  cr_assert_not_null(p);
  cr_assert_eq((uintptr_t)p % 16, 0);
  memset(p, 0xab, 40);
  ac_alloc_fn(&a, p, 40, 0);
  cr_assert_eq(a.in_use, 0);
  void *q = ac_alloc_fn(&a, NULL, 0, 48); /* same 48-byte class */
  cr_assert_eq(q, p, "a freed block of the class is handed out again");
  ac_alloc_fn(&a, q, 48, 0);
}

Test(alloc, resize_keeps_contents_across_classes) {
  char *p = ac_alloc_fn(&a, NULL, 0, 10);
  memcpy(p, "0123456789", 10);
  p = ac_alloc_fn(&a, p, 10, 12); /* same class: stays */
  cr_assert_str_eq((memcpy(p + 10, "", 1), p), "0123456789");
  p = ac_alloc_fn(&a, p, 12, 600); /* bigger class */
  cr_assert_eq(memcmp(p, "0123456789", 10), 0);
  p = ac_alloc_fn(&a, p, 600, 5000); /* to malloc */
  cr_assert_eq(memcmp(p, "0123456789", 10), 0);
  p = ac_alloc_fn(&a, p, 5000, 20); /* back to a small class */
  cr_assert_eq(memcmp(p, "0123456789", 10), 0);
  cr_assert_eq(a.in_use, 20);
  ac_alloc_fn(&a, p, 20, 0);
  cr_assert_eq(a.in_use, 0);
}

Test(alloc, limit_fails_growth_but_never_shrinking) {
  a.limit = 1000;
  void *p = ac_alloc_fn(&a, NULL, 0, 900);
  cr_assert_not_null(p);
  cr_assert_null(ac_alloc_fn(&a, NULL, 0, 200), "past the limit");
  cr_assert_null(ac_alloc_fn(&a, p, 900, 1100), "growing past the limit");
  void *s = ac_alloc_fn(&a, p, 900, 100);
  cr_assert_not_null(s, "shrinking never fails");
  ac_alloc_fn(&a, s, 100, 0);
}

Test(alloc, random_workload_keeps_every_byte) {
  enum { SLOTS = 4000, ROUNDS = 200000 };
  static unsigned char *ptr[SLOTS];
  static size_t size[SLOTS];
  srand(1234);
  for (int r = 0; r < ROUNDS; r++) {
    int i = rand() % SLOTS;
    size_t n = (size_t)(rand() % 3 == 0 ? rand() % 4000 : rand() % 300);
    if (ptr[i]) {
      for (size_t k = 0; k < size[i]; k++) cr_assert_eq(ptr[i][k], (unsigned char)(i + k), "block %d corrupted", i);
    }
    unsigned char *p = ac_alloc_fn(&a, ptr[i], ptr[i] ? size[i] : 0, n);
    if (n == 0) {
      cr_assert_null(p);
      ptr[i] = NULL;
      size[i] = 0;
      continue;
    }
    cr_assert_not_null(p);
    size_t keep = ptr[i] && size[i] < n ? size[i] : (ptr[i] ? n : 0);
    for (size_t k = keep; k < n; k++) p[k] = (unsigned char)(i + k);
    ptr[i] = p;
    size[i] = n;
  }
  size_t total = 0;
  for (int i = 0; i < SLOTS; i++) total += size[i];
  cr_assert_eq(a.in_use, total);
  for (int i = 0; i < SLOTS; i++)
    if (ptr[i]) ac_alloc_fn(&a, ptr[i], size[i], 0);
  cr_assert_eq(a.in_use, 0);
}

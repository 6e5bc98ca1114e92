/* The size-class allocator: sizes, reuse, resizing across classes, the
 * memory limit, and a random workload checked byte by byte. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Fills `n` blocks of `size` bytes with a pattern made from their index. */
static void **fill(size_t n, size_t size) {
  void **v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    v[i] = ac_alloc_fn(&a, NULL, 0, size);
    cr_assert_not_null(v[i]);
    memset(v[i], (int)(i & 0xff), size);
  }
  return v;
}

static void check(void **v, size_t n, size_t size, size_t from, size_t step) {
  for (size_t i = from; i < n; i += step)
    for (size_t k = 0; k < size; k++)
      cr_assert_eq(((unsigned char *)v[i])[k], (unsigned char)(i & 0xff), "block %zu corrupted", i);
}

Test(alloc, empty_arenas_go_back_to_the_kernel) {
  /* ten arenas of 96-byte blocks, then everything freed */
  size_t n = 10 * AC_ALLOC_ARENA / 96;
  void **v = fill(n, 96);
  cr_assert_geq(ac_alloc_mapped(&a), 10 * AC_ALLOC_ARENA);
  for (size_t i = 0; i < n; i++) ac_alloc_fn(&a, v[i], 96, 0);
  cr_assert_eq(a.in_use, 0);
  cr_assert_leq(ac_alloc_mapped(&a), AC_ALLOC_KEEP_EMPTY * AC_ALLOC_ARENA,
                "all but a few empty arenas were unmapped as they emptied (%zu bytes mapped)",
                ac_alloc_mapped(&a));
  ac_alloc_release(&a);
  cr_assert_leq(ac_alloc_mapped(&a), AC_ALLOC_ARENA, "only the arena being carved stays");
  /* what is left still allocates, and no freed block of a released arena is handed out */
  void **w = fill(n, 96);
  check(w, n, 96, 0, 1);
  for (size_t i = 0; i < n; i++) ac_alloc_fn(&a, w[i], 96, 0);
  free(v);
  free(w);
}

Test(alloc, an_arena_that_empties_goes_back_while_others_have_free_blocks) {
  /* twenty arenas of 64-byte blocks with every other block freed: half of
   * the memory is free, in small holes, and no arena is empty */
  size_t n = 20 * AC_ALLOC_ARENA / 64;
  void **v = fill(n, 64);
  for (size_t i = 0; i < n; i += 2) ac_alloc_fn(&a, v[i], 64, 0);
  size_t before = ac_alloc_mapped(&a);
  /* the rest of the first quarter: the first five arenas empty in turn;
   * all but one of them go back, whatever the holes elsewhere */
  for (size_t i = 1; i < n / 4; i += 2) ac_alloc_fn(&a, v[i], 64, 0);
  cr_assert_leq(ac_alloc_mapped(&a), before - 3 * AC_ALLOC_ARENA, "%zu of %zu bytes still mapped",
                ac_alloc_mapped(&a), before);
  check(v, n, 64, n / 4 + 1, 2);
  /* the holes are handed out again, and the live blocks keep their bytes */
  void **w = fill(n / 4, 64);
  check(v, n, 64, n / 4 + 1, 2);
  check(w, n / 4, 64, 0, 1);
  for (size_t i = 0; i < n / 4; i++) ac_alloc_fn(&a, w[i], 64, 0);
  for (size_t i = n / 4 + 1; i < n; i += 2) ac_alloc_fn(&a, v[i], 64, 0);
  cr_assert_eq(a.in_use, 0);
  free(v);
  free(w);
}

Test(alloc, an_arena_with_a_live_block_stays) {
  size_t n = 6 * AC_ALLOC_ARENA / 64;
  void **v = fill(n, 64);
  /* one block in every 1000 stays alive: every arena keeps some */
  for (size_t i = 0; i < n; i++)
    if (i % 1000) ac_alloc_fn(&a, v[i], 64, 0);
  ac_alloc_release(&a);
  cr_assert_geq(ac_alloc_mapped(&a), 6 * AC_ALLOC_ARENA, "no arena holding a live block is unmapped");
  check(v, n, 64, 0, 1000);
  /* the free blocks are reused, and the live ones keep their bytes */
  void **w = fill(n - n / 1000 - 1, 64);
  check(v, n, 64, 0, 1000);
  check(w, n - n / 1000 - 1, 64, 0, 1);
  cr_assert_leq(ac_alloc_mapped(&a), 7 * AC_ALLOC_ARENA, "freed blocks were reused before mapping more");
  for (size_t i = 0; i < n - n / 1000 - 1; i++) ac_alloc_fn(&a, w[i], 64, 0);
  for (size_t i = 0; i < n; i += 1000) ac_alloc_fn(&a, v[i], 64, 0);
  cr_assert_eq(a.in_use, 0);
  free(v);
  free(w);
}

Test(alloc, mixed_sizes_release_when_all_are_freed) {
  /* blocks of every class interleaved in the same arenas */
  enum { N = 60000 };
  static void *v[N];
  static size_t sz[N];
  for (size_t i = 0; i < N; i++) {
    sz[i] = 16 + (i * 7919) % (AC_ALLOC_SMALL_MAX - 16);
    v[i] = ac_alloc_fn(&a, NULL, 0, sz[i]);
    memset(v[i], (int)(i & 0xff), sz[i]);
  }
  size_t peak = ac_alloc_mapped(&a);
  cr_assert_geq(peak, 8 * AC_ALLOC_ARENA);
  /* free the odd ones first (nothing empties), check the rest, then the even ones */
  for (size_t i = 1; i < N; i += 2) ac_alloc_fn(&a, v[i], sz[i], 0);
  for (size_t i = 0; i < N; i += 2)
    for (size_t k = 0; k < sz[i]; k++) cr_assert_eq(((unsigned char *)v[i])[k], (unsigned char)(i & 0xff));
  for (size_t i = 0; i < N; i += 2) ac_alloc_fn(&a, v[i], sz[i], 0);
  cr_assert_eq(a.in_use, 0);
  ac_alloc_release(&a);
  cr_assert_leq(ac_alloc_mapped(&a), AC_ALLOC_ARENA);
}

Test(alloc, the_largest_blocks_keep_their_bytes_across_every_move) {
  size_t big = 3 * AC_ALLOC_MAP_MIN + 123, bigger = 5 * AC_ALLOC_MAP_MIN + 7;
  unsigned char *p = ac_alloc_fn(&a, NULL, 0, big);
  cr_assert_not_null(p);
  for (size_t k = 0; k < big; k++) p[k] = (unsigned char)(k * 31);
  p = ac_alloc_fn(&a, p, big, bigger); /* grows in place or moves with its pages */
  for (size_t k = 0; k < big; k++) cr_assert_eq(p[k], (unsigned char)(k * 31));
  memset(p + big, 1, bigger - big);
  p = ac_alloc_fn(&a, p, bigger, 3000); /* down to malloc's range */
  for (size_t k = 0; k < 3000; k++) cr_assert_eq(p[k], (unsigned char)(k * 31));
  p = ac_alloc_fn(&a, p, 3000, AC_ALLOC_MAP_MIN); /* and back up to a mapping */
  for (size_t k = 0; k < 3000; k++) cr_assert_eq(p[k], (unsigned char)(k * 31));
  p = ac_alloc_fn(&a, p, AC_ALLOC_MAP_MIN, 100); /* to a small class */
  for (size_t k = 0; k < 100; k++) cr_assert_eq(p[k], (unsigned char)(k * 31));
  cr_assert_eq(a.in_use, 100);
  ac_alloc_fn(&a, p, 100, 0);
  cr_assert_eq(a.in_use, 0);
}

/* How many of the `pages` pages from p (page aligned) are resident. */
static size_t resident(void *p, size_t pages) {
  unsigned char vec[256];
  cr_assert_leq(pages, sizeof vec);
  cr_assert_eq(mincore(p, pages * 4096, vec), 0);
  size_t n = 0;
  for (size_t i = 0; i < pages; i++) n += vec[i] & 1;
  return n;
}

Test(alloc, arenas_after_the_first_are_faulted_in_ahead_of_use) {
  /* the first arena: pages come as blocks touch them */
  char *p = ac_alloc_fn(&a, NULL, 0, 64);
  char *page = (char *)(((uintptr_t)p + 2 * 4096) & ~(uintptr_t)4095);
  cr_assert_eq(resident(page, 32), 0, "the first arena is not faulted ahead");
  /* carve into the second arena */
  size_t n = AC_ALLOC_ARENA / 1024 + 1;
  void **v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = ac_alloc_fn(&a, NULL, 0, 1024);
  char *q = ac_alloc_fn(&a, NULL, 0, 64);
  page = (char *)(((uintptr_t)q + 4096) & ~(uintptr_t)4095);
  /* does this kernel fault in ahead (Linux 5.14 and later)? */
  void *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int supported = madvise(probe, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
  munmap(probe, 4096);
  if (supported)
    cr_assert_geq(resident(page, 32), 32, "the next pages of a later arena are resident before use");
  else
    cr_assert_eq(resident(page, 32), 0);
  for (size_t i = 0; i < n; i++) ac_alloc_fn(&a, v[i], 1024, 0);
  ac_alloc_fn(&a, p, 64, 0);
  ac_alloc_fn(&a, q, 64, 0);
  free(v);
}

/* Resident pages of the arena holding p, one byte each (1: resident). */
static void arena_pages(const void *p, unsigned char vec[AC_ALLOC_ARENA / 4096]) {
  void *base = (void *)((uintptr_t)p & ~(uintptr_t)(AC_ALLOC_ARENA - 1));
  cr_assert_eq(mincore(base, AC_ALLOC_ARENA, vec), 0);
  for (size_t i = 0; i < AC_ALLOC_ARENA / 4096; i++) vec[i] &= 1;
}

static size_t count_pages(const unsigned char *vec) {
  size_t n = 0;
  for (size_t i = 0; i < AC_ALLOC_ARENA / 4096; i++) n += vec[i];
  return n;
}

Test(alloc, trim_gives_back_the_pages_that_hold_only_free_blocks) {
  /* four arenas of 256-byte blocks; one block in every 64 stays alive, so
   * each arena keeps a block in every 16 KiB and no arena empties */
  enum { SIZE = 256, EVERY = 64 };
  size_t n = 4 * AC_ALLOC_ARENA / SIZE;
  void **v = fill(n, SIZE);
  for (size_t i = 0; i < n; i++)
    if (i % EVERY) ac_alloc_fn(&a, v[i], SIZE, 0);
  size_t mapped = ac_alloc_mapped(&a), resident_before = ac_alloc_resident(&a);
  static unsigned char before[AC_ALLOC_ARENA / 4096], after[AC_ALLOC_ARENA / 4096];
  arena_pages(v[0], before);
  size_t given = ac_alloc_trim(&a);
  arena_pages(v[0], after);
  cr_assert_eq(ac_alloc_mapped(&a), mapped, "no arena holding a live block is unmapped");
  cr_assert_geq(given, 3 * AC_ALLOC_ARENA / 2, "most of the free pages went back (%zu bytes)", given);
  cr_assert_leq(ac_alloc_resident(&a) + given, resident_before, "%zu bytes resident, %zu before, %zu given back",
                ac_alloc_resident(&a), resident_before, given);
  cr_assert_leq(count_pages(after) + 300, count_pages(before), "%zu pages resident after the trim, %zu before",
                count_pages(after), count_pages(before));
  check(v, n, SIZE, 0, EVERY);
  /* the blocks handed out next lie on pages still resident: no free list
   * runs through a page that was given back */
  size_t m = n - n / EVERY;
  void **w = malloc(m * sizeof *w);
  for (size_t i = 0; i < m; i++) {
    w[i] = ac_alloc_fn(&a, NULL, 0, SIZE);
    cr_assert_not_null(w[i]);
    if (((uintptr_t)w[i] & ~(uintptr_t)(AC_ALLOC_ARENA - 1)) != ((uintptr_t)v[0] & ~(uintptr_t)(AC_ALLOC_ARENA - 1)))
      continue;
    size_t off = (uintptr_t)w[i] & (AC_ALLOC_ARENA - 1);
    cr_assert(after[off / 4096] && after[(off + SIZE - 1) / 4096], "block %zu is on a page given back", i);
  }
  for (size_t i = 0; i < m; i++) memset(w[i], 0x5a, SIZE);
  check(v, n, SIZE, 0, EVERY);
  for (size_t i = 0; i < m; i++) ac_alloc_fn(&a, w[i], SIZE, 0);
  for (size_t i = 0; i < n; i += EVERY) ac_alloc_fn(&a, v[i], SIZE, 0);
  cr_assert_eq(a.in_use, 0);
  free(v);
  free(w);
}

Test(alloc, an_arena_a_trim_left_holes_in_is_unmapped_when_it_empties) {
  /* three arenas of 128-byte blocks; only the first block stays alive
   * (and the newest arena, the one being carved) */
  size_t n = 3 * AC_ALLOC_ARENA / 128;
  void **v = fill(n, 128);
  for (size_t i = 1; i + 1 < n; i++) ac_alloc_fn(&a, v[i], 128, 0);
  ac_alloc_trim(&a);
  size_t mapped = ac_alloc_mapped(&a);
  cr_assert_eq(mapped, 2 * AC_ALLOC_ARENA, "the empty middle arena was unmapped by the trim");
  /* an empty arena is kept otherwise (AC_ALLOC_KEEP_EMPTY): not this one */
  ac_alloc_fn(&a, v[0], 128, 0);
  cr_assert_eq(ac_alloc_mapped(&a), AC_ALLOC_ARENA, "%zu bytes mapped", ac_alloc_mapped(&a));
  ac_alloc_fn(&a, v[n - 1], 128, 0);
  cr_assert_eq(a.in_use, 0);
  free(v);
}

Test(alloc, trim_walks_only_arenas_with_64_KiB_resident_beyond_their_blocks_in_use) {
  size_t n = 2 * AC_ALLOC_ARENA / 512;
  void **v = fill(n, 512);
  /* free half of the first arena, in whole pages */
  size_t half = AC_ALLOC_ARENA / 512 / 2;
  for (size_t i = 8; i < half; i++) ac_alloc_fn(&a, v[i], 512, 0);
  cr_assert_gt(ac_alloc_trim(&a), 0);
  cr_assert_eq(ac_alloc_trim(&a), 0, "what is resident is in use: nothing to give back");
  for (size_t i = half; i < half + 40; i++) ac_alloc_fn(&a, v[i], 512, 0); /* 20 KiB: not enough */
  cr_assert_eq(ac_alloc_trim(&a), 0);
  for (size_t i = half + 40; i < half + 200; i++) ac_alloc_fn(&a, v[i], 512, 0); /* 100 KiB in all */
  cr_assert_gt(ac_alloc_trim(&a), 0);
  check(v, 8, 512, 0, 1);
  check(v, n, 512, half + 200, 1);
  for (size_t i = 0; i < 8; i++) ac_alloc_fn(&a, v[i], 512, 0);
  for (size_t i = half + 200; i < n; i++) ac_alloc_fn(&a, v[i], 512, 0);
  cr_assert_eq(a.in_use, 0);
  free(v);
}

Test(alloc, trim_of_a_small_heap_gives_nothing_back) {
  void *p = ac_alloc_fn(&a, NULL, 0, 64);
  cr_assert_eq(ac_alloc_trim(&a), 0);
  ac_alloc_fn(&a, p, 64, 0);
}

Test(alloc, huge_pages_free_counts_the_blocks_of_an_arena_or_more_in_every_zone) {
  const char *text =
      "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n"
      "Node 0, zone    DMA32      4      1      2      2      2      2      1      4      4      2    752 \n"
      "Node 0, zone   Normal  12786   7658   4135   1682    901    431    236     69     37    106    686 \n";
  /* 4 KiB pages: order 9 is one huge page, order 10 two */
  cr_assert_eq(ac_alloc_huge_pages_free(text, 4096), (1 + 2 * 3) + (2 + 2 * 752) + (106 + 2 * 686));
  /* 64 KiB pages: order 5 is one, each order above doubles */
  cr_assert_eq(ac_alloc_huge_pages_free("Node 0, zone Normal 9 9 9 9 9 3 1 0 0 0 0 0 0 0\n", 65536), 3 + 2);
  cr_assert_eq(ac_alloc_huge_pages_free("Node 0, zone Normal 5 5 5 5 5 5 5 5 5 0 1", 4096), 2,
               "the last line needs no newline");
  cr_assert_eq(ac_alloc_huge_pages_free("", 4096), 0);
  cr_assert_eq(ac_alloc_huge_pages_free("garbage\nNode 0, zone Normal x 1 2\n", 4096), 0);
}

/* 1 if the mapping holding p was madvised for huge pages ("hg" among the
 * VmFlags of /proc/self/smaps). */
static int madvised_huge(const void *p) {
  FILE *f = fopen("/proc/self/smaps", "re");
  cr_assert_not_null(f);
  char line[512];
  int in = 0, hg = -1;
  while (hg < 0 && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's first line */
      in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    else if (in && strncmp(line, "VmFlags:", 8) == 0)
      hg = strstr(line, " hg") != NULL;
  }
  fclose(f);
  cr_assert_geq(hg, 0, "the mapping is in /proc/self/smaps");
  return hg;
}

/* What the allocator should decide now (see want_huge in alloc.c): 1 or
 * 0, or -1 when the kernel's free huge pages are too close to the
 * allocator's threshold (64) for a reading now to tell what it read. */
static int huge_pages_expected(void) {
  char buf[4096] = "";
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/defrag", "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  if (strstr(buf, "[defer]") || strstr(buf, "[never]")) return 1;
  f = fopen("/proc/buddyinfo", "re");
  cr_assert_not_null(f);
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  size_t free = ac_alloc_huge_pages_free(buf, (size_t)sysconf(_SC_PAGESIZE));
  return free >= 128 ? 1 : free < 32 ? 0 : -1;
}

Test(alloc, arenas_after_the_first_ask_for_huge_pages_while_the_kernel_has_them_free) {
  size_t n = AC_ALLOC_ARENA / 1024 + 1;
  void **v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = ac_alloc_fn(&a, NULL, 0, 1024);
  cr_assert_eq(madvised_huge(v[0]), 0, "the first arena, all a small program has, does not");
  cr_assert_eq(madvised_huge(v[n - 1]), a.huge, "the second arena asks as the allocator decided");
  int want = huge_pages_expected();
  if (want >= 0) cr_assert_eq(a.huge, want, "the decision follows the kernel's free huge pages");
  for (size_t i = 0; i < n; i++) ac_alloc_fn(&a, v[i], 1024, 0);
  free(v);
}

Test(alloc, a_trimmed_arena_stops_asking_for_huge_pages) {
  /* three arenas of 256-byte blocks, one in every 64 left alive */
  enum { SIZE = 256, EVERY = 64 };
  size_t n = 3 * AC_ALLOC_ARENA / SIZE;
  void **v = fill(n, SIZE);
  for (size_t i = 0; i < n; i++)
    if (i % EVERY) ac_alloc_fn(&a, v[i], SIZE, 0);
  void *second = v[n / 2];
  cr_assert_eq(madvised_huge(second), a.huge);
  cr_assert_gt(ac_alloc_trim(&a), 0);
  /* otherwise khugepaged would fill the pages given back with zeros again */
  cr_assert_eq(madvised_huge(second), 0, "the trimmed arena no longer asks for huge pages");
  check(v, n, SIZE, 0, EVERY);
  for (size_t i = 0; i < n; i += EVERY) ac_alloc_fn(&a, v[i], SIZE, 0);
  cr_assert_eq(a.in_use, 0);
  free(v);
}

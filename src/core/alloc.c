#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under LeakSanitizer the arenas are root regions: blocks allocated with
 * malloc (the large ones) are referenced from objects in the arenas, which
 * LeakSanitizer does not scan otherwise, so a program that exits without
 * closing its state (os.exit) would report them as leaks. */
#if defined(__SANITIZE_ADDRESS__)
#define AC_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AC_LSAN 1
#endif
#endif
#ifdef AC_LSAN
#include <sanitizer/lsan_interface.h>
#define lsan_register(p, n) __lsan_register_root_region(p, n)
#define lsan_unregister(p, n) __lsan_unregister_root_region(p, n)
#else
#define lsan_register(p, n) ((void)0)
#define lsan_unregister(p, n) ((void)0)
#endif

#define ARENA_SIZE ((size_t)2 << 20)
#define NCLASSES (AC_ALLOC_SMALL_MAX / AC_ALLOC_GRAIN)

/* An arena's header sits at its start; blocks are carved after it. */
struct ac_arena {
  ac_arena *next; /* older arena */
  size_t size;    /* bytes mapped */
};

static size_t class_of(size_t size) { return (size + AC_ALLOC_GRAIN - 1) / AC_ALLOC_GRAIN - 1; }

void ac_alloc_init(ac_alloc *a) { memset(a, 0, sizeof *a); }

void ac_alloc_close(ac_alloc *a) {
  ac_arena *ar = a->arenas;
  while (ar) {
    ac_arena *next = ar->next;
    lsan_unregister(ar, ar->size);
    munmap(ar, ar->size);
    ar = next;
  }
  ac_alloc_init(a);
}

/* Maps a new arena, 2 MiB aligned so the kernel can back it with one huge
 * page; 0 on success. */
static int grow(ac_alloc *a) {
  size_t span = ARENA_SIZE * 2;
  char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return -1;
  char *start = (char *)(((uintptr_t)raw + ARENA_SIZE - 1) & ~(uintptr_t)(ARENA_SIZE - 1));
  if (start > raw) munmap(raw, (size_t)(start - raw));
  char *end = start + ARENA_SIZE;
  if (raw + span > end) munmap(end, (size_t)(raw + span - end));
#ifdef MADV_HUGEPAGE
  madvise(start, ARENA_SIZE, MADV_HUGEPAGE);
#endif
  ac_arena *ar = (ac_arena *)start;
  ar->next = a->arenas;
  ar->size = ARENA_SIZE;
  a->arenas = ar;
  lsan_register(start, ARENA_SIZE);
  /* what was left of the previous arena goes to the free lists */
  while (a->left >= AC_ALLOC_GRAIN) {
    size_t c = class_of(a->left < AC_ALLOC_SMALL_MAX ? a->left - a->left % AC_ALLOC_GRAIN : AC_ALLOC_SMALL_MAX);
    size_t sz = (c + 1) * AC_ALLOC_GRAIN;
    *(void **)a->next = a->free[c];
    a->free[c] = a->next;
    a->next += sz;
    a->left -= sz;
  }
  a->next = start + sizeof(ac_arena) + (AC_ALLOC_GRAIN - sizeof(ac_arena) % AC_ALLOC_GRAIN) % AC_ALLOC_GRAIN;
  a->left = (size_t)(end - a->next);
  return 0;
}

static void *small_alloc(ac_alloc *a, size_t c) {
  void *p = a->free[c];
  if (p) {
    a->free[c] = *(void **)p;
    return p;
  }
  size_t sz = (c + 1) * AC_ALLOC_GRAIN;
  if (a->left < sz && grow(a) != 0) return NULL;
  p = a->next;
  a->next += sz;
  a->left -= sz;
  return p;
}

static void small_free(ac_alloc *a, void *p, size_t c) {
  *(void **)p = a->free[c];
  a->free[c] = p;
}

void *ac_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  ac_alloc *a = ud;
  if (ptr == NULL) osize = 0; /* a type tag, not a size */
  if (nsize == 0) {
    if (ptr) {
      if (osize <= AC_ALLOC_SMALL_MAX) small_free(a, ptr, class_of(osize));
      else free(ptr);
      a->in_use -= osize;
    }
    return NULL;
  }
  if (a->limit && nsize > osize && a->in_use + (nsize - osize) > a->limit) return NULL;
  void *p;
  if (nsize <= AC_ALLOC_SMALL_MAX) {
    if (ptr && osize <= AC_ALLOC_SMALL_MAX && class_of(osize) == class_of(nsize)) {
      p = ptr; /* same class: nothing moves */
    } else {
      p = small_alloc(a, class_of(nsize));
      /* Lua counts on shrinking never failing: keep the bigger block */
      if (!p) return (ptr && nsize <= osize) ? ptr : NULL;
      if (ptr) {
        memcpy(p, ptr, osize < nsize ? osize : nsize);
        if (osize <= AC_ALLOC_SMALL_MAX) small_free(a, ptr, class_of(osize));
        else free(ptr);
      }
    }
  } else if (ptr && osize > AC_ALLOC_SMALL_MAX) {
    p = realloc(ptr, nsize);
    if (!p) return nsize <= osize ? ptr : NULL;
  } else {
    p = malloc(nsize);
    if (!p) return NULL;
    if (ptr) {
      memcpy(p, ptr, osize < nsize ? osize : nsize);
      small_free(a, ptr, class_of(osize));
    }
  }
  a->in_use = a->in_use - osize + nsize;
  return p;
}

#include "alloc.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

#define ARENA_SIZE AC_ALLOC_ARENA
#define NCLASSES AC_ALLOC_NCLASSES

/* An arena's own free blocks of one size class, and its links in the
 * allocator's list of arenas that have some (valid while `free` is set). */
typedef struct arena_class {
  void *free;     /* free blocks of the class, linked through their first word */
  ac_arena *next; /* next arena with free blocks of the class */
  ac_arena *prev; /* previous one, or NULL at the head */
} arena_class;

/* An arena's header sits at its start; blocks are carved after it. */
struct ac_arena {
  ac_arena *next; /* older arena */
  ac_arena *prev; /* newer arena, or NULL for the newest */
  size_t size;    /* bytes mapped */
  size_t used;    /* bytes of blocks handed out from it and not freed */
  size_t holes;   /* bytes of free blocks a trim took off the lists (see trim_arena) */
  arena_class cls[NCLASSES];
};

static size_t class_of(size_t size) { return (size + AC_ALLOC_GRAIN - 1) / AC_ALLOC_GRAIN - 1; }

/* The arena a small block belongs to: arenas are aligned to their size. */
static ac_arena *arena_of(const void *p) { return (ac_arena *)((uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1)); }

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

size_t ac_alloc_mapped(const ac_alloc *a) { return a->narenas * ARENA_SIZE; }

/* An arena joins its class's list at the tail: blocks are taken from the
 * arenas that have had free ones longest, which leaves the arenas that
 * are freeing their blocks right now alone to empty (after 1M spawned
 * tasks and a full GC, before ac_alloc_trim existed, 11.7 MiB stayed
 * resident this way; 13.7 MiB when an arena joined at the head). */
static void link_partial(ac_alloc *a, ac_arena *ar, size_t c) {
  ar->cls[c].next = NULL;
  ar->cls[c].prev = a->partial_tail[c];
  if (a->partial_tail[c]) a->partial_tail[c]->cls[c].next = ar;
  else a->partial[c] = ar;
  a->partial_tail[c] = ar;
}

static void unlink_partial(ac_alloc *a, ac_arena *ar, size_t c) {
  arena_class *k = &ar->cls[c];
  if (k->prev) k->prev->cls[c].next = k->next;
  else a->partial[c] = k->next;
  if (k->next) k->next->cls[c].prev = k->prev;
  else a->partial_tail[c] = k->prev;
}

/* Puts block p of class c on its arena's free list. */
static void push_free(ac_alloc *a, void *p, size_t c) {
  ac_arena *ar = arena_of(p);
  if (!ar->cls[c].free) link_partial(a, ar, c);
  *(void **)p = ar->cls[c].free;
  ar->cls[c].free = p;
}

/* Unmaps the empty arena ar (not `cur`): it leaves the lists of the classes
 * it has free blocks of, then the list of arenas. */
static void unmap_arena(ac_alloc *a, ac_arena *ar) {
  for (size_t c = 0; c < NCLASSES; c++)
    if (ar->cls[c].free) unlink_partial(a, ar, c);
  if (ar->prev) ar->prev->next = ar->next;
  else a->arenas = ar->next;
  if (ar->next) ar->next->prev = ar->prev;
  a->narenas--;
  lsan_unregister(ar, ar->size);
  munmap(ar, ar->size);
}

/* ar (not `cur`) has just handed back its last block: kept while fewer
 * than AC_ALLOC_KEEP_EMPTY arenas are empty, else unmapped. An arena with
 * holes is always unmapped: its free lists no longer cover it. */
static void became_empty(ac_alloc *a, ac_arena *ar) {
  if (a->nempty + 1 < AC_ALLOC_KEEP_EMPTY && ar->holes == 0) a->nempty++;
  else unmap_arena(a, ar);
}

/* Asking for huge pages (MADV_HUGEPAGE) is worth it: with 4 KiB pages a
 * heap of a million tasks (1.5 GB) spends most of its time in TLB misses,
 * and 2 MiB pages made 100k-task spawns, timers and idles 2.3-2.6x faster
 * (scripts/bench's scale rows). What can make it a loss is the page
 * fault: under the "always", "madvise" (the kernel's default) and
 * "defer+madvise" defrag policies, a fault in a madvised range with no free
 * huge page compacts memory on the spot, which on a busy machine once made
 * a 200k-task spawn pay more system time than huge pages save. So the
 * arenas are madvised under the "defer" and "never" policies, where a fault
 * never compacts, and under the others only while the kernel has free
 * 2 MiB blocks to spare (see ac_alloc_huge_pages_free), checked again every
 * HUGE_RECHECK arenas. Policy read once per process, -1 before: 1 when a
 * fault cannot stall (a race between states only reads the same file
 * twice). */
static int huge_never_stalls = -1;
/* Free huge pages the kernel must have for the next arenas to ask for one
 * (twice what HUGE_RECHECK arenas take, so others are left some). */
#define HUGE_SPARE 64
/* Arenas mapped between two readings of /proc/buddyinfo. */
#define HUGE_RECHECK 32

/* Reads a small /proc file into buf (NUL-terminated); 0, or -1. */
static int read_proc(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = 0;
  return 0;
}

static int read_huge_policy(void) {
  char buf[128];
  if (read_proc("/sys/kernel/mm/transparent_hugepage/defrag", buf, sizeof buf) != 0) return 0;
  return strstr(buf, "[defer]") != NULL || strstr(buf, "[never]") != NULL;
}

size_t ac_alloc_huge_pages_free(const char *buddyinfo, size_t page_size) {
  /* the buddy order of one arena: 9 with 4 KiB pages */
  int order = 0;
  while (page_size << order < ARENA_SIZE) order++;
  size_t pages = 0;
  for (const char *line = buddyinfo; line && *line;) {
    const char *zone = strstr(line, "zone");
    const char *eol = strchr(line, '\n');
    if (zone && (!eol || zone < eol)) {
      char *p = (char *)zone + 4;
      while (*p == ' ') p++;
      while (*p && *p != ' ' && *p != '\n') p++; /* the zone's name */
      for (int o = 0; *p && *p != '\n'; o++) {
        char *q;
        unsigned long long n = strtoull(p, &q, 10);
        if (q == p) break;
        if (o >= order && o - order < 32) pages += (size_t)n << (o - order);
        p = q;
        while (*p == ' ') p++;
      }
    }
    line = eol ? eol + 1 : NULL;
  }
  return pages;
}

/* 1 when the next arena should ask for huge pages (see huge_never_stalls). */
static int want_huge(ac_alloc *a) {
  if (huge_never_stalls < 0) huge_never_stalls = read_huge_policy();
  if (a->huge_left == 0) {
    char buf[4096]; /* a line per zone and NUMA node */
    a->huge = huge_never_stalls || (read_proc("/proc/buddyinfo", buf, sizeof buf) == 0 &&
                                    ac_alloc_huge_pages_free(buf, (size_t)sysconf(_SC_PAGESIZE)) >= HUGE_SPARE);
    a->huge_left = HUGE_RECHECK;
  }
  a->huge_left--;
  return a->huge;
}

/* Pages of arenas after the first are faulted in this many bytes at a
 * time, ahead of the carving, with one madvise(MADV_POPULATE_WRITE): a
 * burst of tasks then takes one system call per 64 pages instead of a page
 * fault per page (spawn 200k: about 10% less CPU, timers 8%). At most this
 * much is resident before it is used; the first arena, all a small
 * program has, is never faulted ahead. */
#define FAULT_AHEAD ((size_t)256 << 10)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* 0 once the kernel refused MADV_POPULATE_WRITE (before Linux 5.14). */
static int populate_ok = 1;

/* Faults in the next FAULT_AHEAD bytes of the newest arena. */
static void fault_ahead(ac_alloc *a) {
  char *end = (char *)a->cur + ARENA_SIZE;
  char *to = a->faulted + FAULT_AHEAD < end ? a->faulted + FAULT_AHEAD : end;
  if (__atomic_load_n(&populate_ok, __ATOMIC_RELAXED) &&
      madvise(a->faulted, (size_t)(to - a->faulted), MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
    __atomic_store_n(&populate_ok, 0, __ATOMIC_RELAXED);
    to = end;
  }
  a->faulted = to;
}

/* Maps a new arena, 2 MiB aligned so the kernel can back it with one huge
 * page (when that cannot stall, see huge_never_stalls); 0 on success. */
static int grow(ac_alloc *a) {
  size_t span = ARENA_SIZE * 2;
  char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return -1;
  char *start = (char *)(((uintptr_t)raw + ARENA_SIZE - 1) & ~(uintptr_t)(ARENA_SIZE - 1));
  if (start > raw) munmap(raw, (size_t)(start - raw));
  char *end = start + ARENA_SIZE;
  if (raw + span > end) munmap(end, (size_t)(raw + span - end));
#ifdef MADV_HUGEPAGE
  /* the first arena is what a small program uses: no file read for it */
  if (a->narenas > 0 && want_huge(a)) madvise(start, ARENA_SIZE, MADV_HUGEPAGE);
#endif
  lsan_register(start, ARENA_SIZE);
  /* what was left of the previous arena goes to its free lists */
  while (a->left >= AC_ALLOC_GRAIN) {
    size_t c = class_of(a->left < AC_ALLOC_SMALL_MAX ? a->left - a->left % AC_ALLOC_GRAIN : AC_ALLOC_SMALL_MAX);
    push_free(a, a->next, c);
    a->next += (c + 1) * AC_ALLOC_GRAIN;
    a->left -= (c + 1) * AC_ALLOC_GRAIN;
  }
  ac_arena *old = a->cur;
  ac_arena *ar = (ac_arena *)start;
  ar->next = a->arenas;
  ar->prev = NULL;
  if (ar->next) ar->next->prev = ar;
  ar->size = ARENA_SIZE;
  ar->used = 0;
  /* a fresh mapping reads as zeros: every class list is empty already */
  a->arenas = ar;
  a->cur = ar;
  a->narenas++;
  a->next = start + sizeof(ac_arena) + (AC_ALLOC_GRAIN - sizeof(ac_arena) % AC_ALLOC_GRAIN) % AC_ALLOC_GRAIN;
  a->left = (size_t)(end - a->next);
  /* the header's page is faulted already */
  a->faulted = a->narenas > 1 ? (char *)(((uintptr_t)a->next + 4095) & ~(uintptr_t)4095) : end;
  /* the previous arena may be empty already; it is fully carved from now on */
  if (old && old->used == 0) became_empty(a, old);
  return 0;
}

size_t ac_alloc_release(ac_alloc *a) {
  size_t n = 0;
  ac_arena *ar = a->arenas;
  while (ar) {
    ac_arena *next = ar->next;
    if (ar->used == 0 && ar != a->cur) {
      unmap_arena(a, ar);
      n++;
    }
    ar = next;
  }
  a->nempty = 0;
  return n;
}

/* -- trimming: the free pages of arenas still in use -- */

/* An arena is trimmed only when at least this many of its resident bytes
 * are not in use: a trim walks all its free blocks. */
#define TRIM_STEP ((size_t)64 << 10)
/* The smallest page size whose counts trim_arena keeps. */
#define TRIM_MIN_PAGE 4096

/* The page size, read once per process (states on other threads may race
 * to store the same value). */
static size_t page_size(void) {
  static size_t pg;
  size_t v = __atomic_load_n(&pg, __ATOMIC_RELAXED);
  if (!v) {
    long s = sysconf(_SC_PAGESIZE);
    v = s >= TRIM_MIN_PAGE && (size_t)s <= ARENA_SIZE ? (size_t)s : TRIM_MIN_PAGE;
    __atomic_store_n(&pg, v, __ATOMIC_RELAXED);
  }
  return v;
}

/* Gives back to the kernel the pages of ar that hold nothing but free
 * blocks; returns the bytes given back. Why the blocks on those pages
 * leave the free lists first: a free block keeps its list link in its
 * first word, and a page given back reads as zeros when touched again. A
 * block that only straddles such a page leaves with them. Blocks taken
 * off this way count in `holes`; they come back when the arena empties,
 * since an arena with holes is then unmapped (became_empty). */
static size_t trim_arena(ac_alloc *a, ac_arena *ar, size_t pg) {
  uint32_t freeb[ARENA_SIZE / TRIM_MIN_PAGE]; /* bytes of free blocks in each page */
  size_t np = ARENA_SIZE / pg, nfull = 0;
  char *base = (char *)ar;
  memset(freeb, 0, np * sizeof freeb[0]);
  for (size_t c = 0; c < NCLASSES; c++) {
    size_t sz = (c + 1) * AC_ALLOC_GRAIN;
    for (char *p = ar->cls[c].free; p; p = *(char **)p) {
      size_t off = (size_t)(p - base), first = off / pg, last = (off + sz - 1) / pg;
      /* a block is at most AC_ALLOC_SMALL_MAX bytes: one page or two */
      if (first == last) freeb[first] += (uint32_t)sz;
      else {
        freeb[first] += (uint32_t)((first + 1) * pg - off);
        freeb[last] += (uint32_t)(off + sz - last * pg);
      }
    }
  }
  for (size_t i = 0; i < np; i++) nfull += freeb[i] == pg;
  if (nfull == 0) return 0;
  /* off the lists: every block touching a page that is all free */
  for (size_t c = 0; c < NCLASSES; c++) {
    if (!ar->cls[c].free) continue;
    size_t sz = (c + 1) * AC_ALLOC_GRAIN;
    void **tail = &ar->cls[c].free;
    for (char *p = ar->cls[c].free; p;) {
      char *next = *(char **)p;
      size_t off = (size_t)(p - base);
      if (freeb[off / pg] == pg || freeb[(off + sz - 1) / pg] == pg) {
        ar->holes += sz;
      } else {
        *tail = p;
        tail = (void **)p;
      }
      p = next;
    }
    *tail = NULL;
    if (!ar->cls[c].free) unlink_partial(a, ar, c);
  }
  /* then the pages, in runs. Why the arena first leaves huge pages: the
   * kernel's khugepaged collapses a madvised range back into a huge page
   * while as few as one of its 512 pages is resident, filling the others
   * with zeros, which would undo the trim. */
#ifdef MADV_NOHUGEPAGE
  madvise(base, ARENA_SIZE, MADV_NOHUGEPAGE);
#endif
  size_t given = 0;
  for (size_t i = 0; i < np;) {
    if (freeb[i] != pg) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < np && freeb[j] == pg) j++;
    if (madvise(base + i * pg, (j - i) * pg, MADV_DONTNEED) == 0) given += (j - i) * pg;
    i = j;
  }
  return given;
}

/* Bytes of arena ar resident in memory (0 if mincore fails). */
static size_t arena_resident(const ac_arena *ar, size_t pg) {
  unsigned char vec[ARENA_SIZE / TRIM_MIN_PAGE];
  if (mincore((void *)ar, ARENA_SIZE, vec) != 0) return 0;
  size_t n = 0;
  for (size_t i = 0; i < ARENA_SIZE / pg; i++) n += vec[i] & 1;
  return n * pg;
}

size_t ac_alloc_resident(const ac_alloc *a) {
  size_t n = 0, pg = page_size();
  for (const ac_arena *ar = a->arenas; ar; ar = ar->next) n += arena_resident(ar, pg);
  return n;
}

size_t ac_alloc_trim(ac_alloc *a) {
  size_t pg = page_size();
#ifdef __GLIBC__
  /* the blocks between AC_ALLOC_SMALL_MAX and AC_ALLOC_MAP_MIN are
   * malloc's: the pages of its free chunks go back as well */
  malloc_trim(0);
#endif
  size_t given = ac_alloc_release(a) * ARENA_SIZE;
  for (ac_arena *ar = a->arenas; ar; ar = ar->next)
    if (arena_resident(ar, pg) >= ar->used + TRIM_STEP) given += trim_arena(a, ar, pg);
  return given;
}

static void *small_alloc(ac_alloc *a, size_t c) {
  size_t sz = (c + 1) * AC_ALLOC_GRAIN;
  ac_arena *ar = a->partial[c];
  if (ar) {
    void *p = ar->cls[c].free;
    if (!(ar->cls[c].free = *(void **)p)) unlink_partial(a, ar, c);
    if (ar->used == 0 && ar != a->cur) a->nempty--;
    ar->used += sz;
    return p;
  }
  if (a->left < sz && grow(a) != 0) return NULL;
  void *p = a->next;
  a->next += sz;
  a->left -= sz;
  if (a->next > a->faulted) fault_ahead(a);
  a->cur->used += sz;
  return p;
}

static void small_free(ac_alloc *a, void *p, size_t c) {
  push_free(a, p, c);
  ac_arena *ar = arena_of(p);
  ar->used -= (c + 1) * AC_ALLOC_GRAIN;
  if (ar->used == 0 && ar != a->cur) became_empty(a, ar);
}

/* -- blocks above AC_ALLOC_SMALL_MAX: malloc, or mappings of their own -- */

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

/* Mapped blocks are root regions for LeakSanitizer too, like arenas. */
static void big_free(void *p, size_t size) {
  if (size < AC_ALLOC_MAP_MIN) {
    free(p);
    return;
  }
  lsan_unregister(p, page_round(size));
  munmap(p, page_round(size));
}

static void *big_alloc(size_t size) {
  if (size < AC_ALLOC_MAP_MIN) return malloc(size);
  void *p = mmap(NULL, page_round(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  lsan_register(p, page_round(size));
  return p;
}

/* Resizes a block of osize bytes (both sizes above AC_ALLOC_SMALL_MAX). */
static void *big_resize(void *p, size_t osize, size_t nsize) {
  if (osize >= AC_ALLOC_MAP_MIN && nsize >= AC_ALLOC_MAP_MIN) {
    void *q = mremap(p, page_round(osize), page_round(nsize), MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return NULL;
    lsan_unregister(p, page_round(osize));
    lsan_register(q, page_round(nsize));
    return q;
  }
  if (osize < AC_ALLOC_MAP_MIN && nsize < AC_ALLOC_MAP_MIN) return realloc(p, nsize);
  void *q = big_alloc(nsize);
  if (!q) return NULL;
  memcpy(q, p, osize < nsize ? osize : nsize);
  big_free(p, osize);
  return q;
}

/* Every case of ac_alloc_fn; the common ones it handles itself first. */
__attribute__((noinline)) static void *alloc_any(ac_alloc *a, void *ptr, size_t osize, size_t nsize) {
  if (ptr == NULL) osize = 0; /* a type tag, not a size */
  if (nsize == 0) {
    if (ptr) {
      if (osize <= AC_ALLOC_SMALL_MAX) small_free(a, ptr, class_of(osize));
      else big_free(ptr, osize);
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
        else big_free(ptr, osize);
      }
    }
  } else if (ptr && osize > AC_ALLOC_SMALL_MAX) {
    p = big_resize(ptr, osize, nsize);
    if (!p) return nsize <= osize ? ptr : NULL;
  } else {
    p = big_alloc(nsize);
    if (!p) return NULL;
    if (ptr) {
      memcpy(p, ptr, osize < nsize ? osize : nsize);
      small_free(a, ptr, class_of(osize));
    }
  }
  a->in_use = a->in_use - osize + nsize;
  return p;
}

/* The two cases a burst of tasks makes all the time, in code that needs no
 * call and few registers (alloc_any's prologue cost as much as its work):
 * a new small block from a free list or from the carving, and a freed
 * small block whose arena keeps others in use. Anything else, including
 * any step that changes which arenas are listed, goes to alloc_any. */
void *ac_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  ac_alloc *a = ud;
  if (ptr == NULL) {
    if (nsize - 1 < AC_ALLOC_SMALL_MAX && !a->limit) {
      size_t c = class_of(nsize), sz = (c + 1) * AC_ALLOC_GRAIN;
      ac_arena *ar = a->partial[c];
      if (ar) {
        void *p = ar->cls[c].free, *next = *(void **)p;
        if (next && ar->used != 0) {
          ar->cls[c].free = next;
          ar->used += sz;
          a->in_use += nsize;
          return p;
        }
      } else if (a->left >= sz && a->next + sz <= a->faulted) {
        void *p = a->next;
        a->next += sz;
        a->left -= sz;
        a->cur->used += sz;
        a->in_use += nsize;
        return p;
      }
    }
  } else if (nsize == 0 && osize <= AC_ALLOC_SMALL_MAX) {
    size_t c = class_of(osize), sz = (c + 1) * AC_ALLOC_GRAIN;
    ac_arena *ar = arena_of(ptr);
    if (ar->cls[c].free && ar->used > sz) {
      *(void **)ptr = ar->cls[c].free;
      ar->cls[c].free = ptr;
      ar->used -= sz;
      a->in_use -= osize;
      return NULL;
    }
  }
  return alloc_any(a, ptr, osize, nsize);
}

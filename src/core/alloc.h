/* A size-class allocator with the shape of lua_Alloc, for the Lua states
 * alua creates. Lua passes the size of every block it frees or resizes, so
 * small blocks need no header: they come from per-size free lists carved
 * out of 2 MiB arenas (backed by transparent huge pages while the kernel
 * has them free, so that a fault need not compact memory: a heap of 100k
 * tasks then takes a 50th of the page faults and far fewer TLB misses).
 * Larger blocks go to malloc, and the largest (tables of a million entries)
 * are mapped on their own, grown with mremap, and unmapped when freed:
 * malloc would keep them in its heap once its adaptive threshold has risen.
 * Not thread-safe: one per state.
 *
 * Memory goes back to the kernel: each arena keeps its own free lists and
 * counts the bytes it has handed out, and per size class the arenas with
 * free blocks of that class are linked, so an arena that empties leaves
 * those links and is unmapped in time independent of how many blocks are
 * free (one empty arena is kept, for a program that keeps crossing an
 * arena's boundary). An arena that keeps a few live blocks keeps its pages
 * until ac_alloc_trim, which alua's collectgarbage() calls after a full
 * collection, gives back those that hold only free blocks. So after a
 * burst of tasks has finished and been collected, the process keeps little
 * more than the live heap. */
#ifndef ALUA_CORE_ALLOC_H
#define ALUA_CORE_ALLOC_H

#include <stddef.h>

/* Blocks up to this size come from the free lists. */
#define AC_ALLOC_SMALL_MAX 1024
/* Free-list granularity. */
#define AC_ALLOC_GRAIN 16
/* Blocks of at least this size are mappings of their own. */
#define AC_ALLOC_MAP_MIN ((size_t)1 << 20)
/* Bytes of one arena (mapped aligned to its size). */
#define AC_ALLOC_ARENA ((size_t)2 << 20)
/* Empty arenas are kept until there are at least this many. */
#define AC_ALLOC_KEEP_EMPTY 2
/* Size classes of the small blocks. */
#define AC_ALLOC_NCLASSES (AC_ALLOC_SMALL_MAX / AC_ALLOC_GRAIN)

typedef struct ac_arena ac_arena;

typedef struct ac_alloc {
  ac_arena *partial[AC_ALLOC_NCLASSES]; /* per class, the arenas with free blocks of it */
  ac_arena *partial_tail[AC_ALLOC_NCLASSES]; /* the last of each of those lists */
  char *next;           /* unused space in the newest arena */
  size_t left;          /* bytes left at `next` */
  char *faulted;        /* end of what the newest arena had faulted in ahead */
  ac_arena *arenas;     /* every arena, newest first, released by ac_alloc_close */
  ac_arena *cur;        /* the arena `next` carves from, or NULL */
  size_t narenas;       /* arenas mapped */
  size_t nempty;        /* arenas other than `cur` with no block handed out */
  size_t in_use;        /* bytes handed out and not freed (small and large) */
  size_t limit;         /* 0, or the most in_use may reach (allocations beyond fail) */
  unsigned huge_left;   /* arenas the last reading of the kernel's free huge pages still decides */
  int huge;             /* what that reading decided: 1 if those arenas ask for huge pages */
} ac_alloc;

void ac_alloc_init(ac_alloc *a);

/* Releases every arena. Blocks from the allocator must not be used after. */
void ac_alloc_close(ac_alloc *a);

/* Bytes of arenas mapped now (small blocks in use, free or not yet carved). */
size_t ac_alloc_mapped(const ac_alloc *a);

/* Bytes of arenas resident in memory now (as mincore reports them). */
size_t ac_alloc_resident(const ac_alloc *a);

/* Unmaps every empty arena now (the allocator also does on its own, see
 * above); returns how many. */
size_t ac_alloc_release(ac_alloc *a);

/* Gives back to the kernel what the allocator holds and does not use:
 * every empty arena, and in the arenas still in use the pages that hold
 * only free blocks (in an arena with at least 64 KiB resident beyond its
 * blocks in use). Walks the free blocks of those arenas, so it belongs
 * after a full collection rather than in a hot path. Returns the bytes
 * unmapped or given back. */
size_t ac_alloc_trim(ac_alloc *a);

/* The free huge pages (blocks of AC_ALLOC_ARENA bytes) that the text of
 * /proc/buddyinfo lists, over every zone; page_size is the kernel's page.
 * The allocator asks for huge pages only while there are enough of them
 * (see alloc.c); exposed for its test. */
size_t ac_alloc_huge_pages_free(const char *buddyinfo, size_t page_size);

/* The lua_Alloc contract: ud is the ac_alloc; nsize 0 frees ptr (osize
 * bytes) and returns NULL; ptr NULL allocates nsize bytes (osize is then a
 * type tag and ignored); otherwise resizes from osize to nsize. Returns NULL
 * when memory runs out (or past `limit`), leaving ptr untouched. */
void *ac_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);

#endif

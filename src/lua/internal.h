/* Shared records of the asyncio bindings: the per-state runtime, loops,
 * futures, tasks and coroutine objects. Only src/lua/ includes this. */
#ifndef ALUA_LUA_INTERNAL_H
#define ALUA_LUA_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/pool.h"

/* Metatable names, used by luaL_checkudata and in error messages. */
#define MT_LOOP "asyncio.Loop"
#define MT_FUTURE "asyncio.Future"
#define MT_TASK "asyncio.Task"
#define MT_GATHER "asyncio.GatheringFuture"
#define MT_CORO "asyncio.coroutine"
#define MT_SLEEP "asyncio.sleep"

struct lloop;
struct task;
struct alua__sites;

/* Whether an awaitable must still be awaited (forgotten.c). */
typedef struct alua__aw {
  int site;             /* where it was made (or first handed out unawaited), 0 if unknown */
  uint32_t pass;        /* rt->pass then */
  uint32_t pending;     /* hand-outs not awaited yet (a fresh object: 1 until awaited) */
} alua__aw;

/* The record of a shared operation (q:get(), lock:acquire(), ...), first
 * in every operation object (forgotten.c). */
typedef struct alua__awop {
  alua__aw aw;          /* as above */
  ac_list link;         /* in rt->awops once a pass end found it pending */
  const char *what;     /* how it was asked for: "q:get()" */
  struct rt *rt;        /* the runtime it belongs to */
} alua__awop;

/* Shared operations handed out in the current pass (forgotten.c). */
#define ALUA_AW_RING 256

/* One per lua_State: what is running now, and the objects C needs from Lua.
 * Lives in a userdata in the registry, collected with the state. Every C
 * function of the module has it as upvalue 1. */
typedef struct rt {
  lua_State *main;          /* the state's main thread */
  struct lloop *running;    /* loop running now in this state, or NULL */
  struct task *current;     /* task being stepped now, or NULL */
  int next_task_id;         /* for the default names Task-1, Task-2, ... */
  int ref_default_loop;     /* registry ref of the loop get_event_loop returns */
  int ref_errors;           /* registry ref of the table of error classes */
  int ref_wrap;             /* registry ref: fn(aw) -> coroutine awaiting aw */
  int ref_chain;            /* registry ref: {value = err, [i] = traceback...} */
  int ref_mt_task;          /* registry ref of the Task metatable (hot: no lookup by name) */
  int ref_mt_coro_done;     /* registry ref of the consumed coroutine's metatable */
  int ref_mt_coro_tracked;  /* registry ref of the metatable of coroutine objects a pass end found not taken */
  /* The metatables of Future, Task, GatheringFuture and their twins, and of
   * coroutine objects: hot paths compare a value's metatable with these
   * (alua__tofuture_rt) instead of looking for a marker in it. */
  const void *mt_future[6];
  int nmt_future;
  const void *mt_coro[3];
  int nmt_coro;
  /* The metatables with an await hook and their hooks (alua__set_await_hook):
   * the await finds a type's hook by comparing metatable pointers. */
  const void *await_mt[16];
  lua_CFunction await_hook[16];
  int nawait;
  /* What the await found for a metatable (its hook, or await.c's entry for
   * coroutine objects and futures), by the metatable pointer's bits: a
   * cache over the lists above, filled by the awaits that search them. */
  struct alua__await_seen {
    const void *mt;
    lua_CFunction fn;
  } await_seen[32];
  int debug;                /* debug mode requested by ALUA_DEBUG */
  int sigquit;              /* alua_option(ALUA_OPT_SIGQUIT): Ctrl+\ prints the task tree */
  int report_at_once;       /* the prompt runs: failed tasks nobody awaits are reported at the pass end */
  int fresh_failures;       /* such a task failed in this pass (future.report_soon) */
  int virtual_time;         /* new loops run on virtual time unless told otherwise */
  struct alua__recorder *rec; /* trace or timeline being recorded, or NULL (observe/) */
  uint32_t slices;          /* slice numbers used by recordings so far (observe/record.c) */
  int next_loop_id;         /* numbers loops in leftover reports */
  /* The state is closing: its loops are closed (alua__shutdown) or the
   * runtime's own finalizer ran, so no new loop may be made. Why: Lua runs
   * finalizers while lua_close frees the state but gives nothing made then
   * a finalizer of its own, so a loop (or an HTTP client, which makes
   * one) made by such a finalizer would never be closed. */
  int closing;
  ac_list loops;            /* open loops (lloop.link), for the leftover report */
  int ref_leftovers;        /* registry ref: list of what closed loops left behind */
  struct alua__hub *hub;    /* work posted from other threads (embed/host.c) */
  int host_driven;          /* the host called alua_fd, alua_timeout_ms or alua_step */
  int host_step;            /* alua_step is running a pass now */
  int hostfd;               /* alua_fd's epoll descriptor, or -1 */
  struct lloop *hostfd_loop; /* the loop whose descriptor hostfd watches, or NULL */
  uint32_t lazy_made;       /* bit g: lazy part g made or being made (runtime/lazy.c) */
  int lazy_limit;           /* lazy parts from this index on read as absent (one earlier is being made) */
  /* Ctrl+C (interrupt.c). The first two fields are written by
   * alua_interrupt, possibly from a signal handler or another thread. */
  int interrupts;           /* interrupts no loop pass has acted on (atomic) */
  uint64_t interrupted_at;  /* ac_clock_ns() of the first of them (atomic) */
  pthread_t thread;         /* thread that last ran this state's loop */
  struct future *main_fut;  /* what an interrupt cancels, or NULL */
  int ref_main;             /* registry ref keeping `main` alive */
  int main_interrupted;     /* cancellations of `main` made by interrupts */
  int main_hold;            /* the hook cancelled the running main task and watches it */
  int unclaimed;            /* interrupts that found no pending `main` */
  int stopped;              /* the hook stopped a task (1) or callback (2) holding the loop */
  int toplevel_cancelled;   /* Ctrl+C cancelled a top-level await */
  int plain_interrupted;    /* the hook raised "interrupted!" in plain code */
  int sigint_mode;          /* ALUA_SIGINT_* the host set with alua_sigint */
  int sigint_token;         /* its hold on SIGINT (alua__sigint_acquire), or -1 */
  int main_started;         /* main_fut is the task alua_start started */
  int ref_main_deadlock;    /* registry ref of the deadlock report that cancelled it */
  /* Forgotten awaits (forgotten.c, site.c). */
  struct alua__sites *sites;  /* creation sites: cache and names */
  ac_list awops;            /* shared operations found pending at a pass end */
  alua__awop *ring[ALUA_AW_RING]; /* shared operations handed out in this pass */
  unsigned ringn;           /* hand-outs recorded in `ring` this pass */
  int aw_handed;            /* shared operations with a hand-out not awaited */
  alua__awop zero_awop;     /* the shared sleep(0)'s record */
  alua__awop sleep_awop;    /* the shared sleeper's record (sleep(d) without values) */
  uint32_t pass;            /* loop passes ended so far (any loop of the state) */
  int aw_fresh;             /* fresh awaitables made in this pass, not awaited yet */
  int aw_collect;           /* pass ends left that run a collector step */
  int nursery;              /* registry ref of the sleeps not awaited at once (forgotten.c) */
  int nursery_n;            /* sleeps in it */
  int ref_last_sleep;       /* registry ref of the holder of the last sleep made (its uservalue) */
  alua__aw *last_sleep;     /* the record of that sleep, or NULL */
  int coro_nursery;         /* registry ref of the coroutine objects not taken at once (forgotten.c) */
  int coro_nursery_n;       /* objects in it */
  int ref_last_coro;        /* registry ref of the holder of the last coroutine object made */
  alua__aw *last_coro;      /* the record of that object, or NULL */
} rt;

/* lloop.slice outside any recorded step or callback. */
#define ALUA_NO_SLICE 1u
/* Finished task threads a loop keeps for reuse, at most. */
#define ALUA_THREAD_POOL_MAX 1024

typedef struct lloop {
  ac_loop core;         /* the event core */
  rt *rt;               /* owning runtime */
  lua_State *L;         /* thread that runs the loop now; valid while running */
  int ntasks;           /* unfinished tasks (each anchored: alua__push_tasks lists them) */
  int nkeep;            /* handles, servers and watchers that keep the program running (alua__keepalive) */
  int nthreads;         /* threads kept for reuse in LOOP_UV_THREADS */
  int running;          /* inside run_until_complete / run_forever */
  int stopping;         /* stop() was called */
  int closed;           /* close() was called */
  int selfref;          /* registry ref keeping the loop alive while running */
  int ref_anchors;      /* registry ref of the table that keeps objects alive */
  int nanchors;         /* live refs in that table (the leftover report skips an empty one) */
  int anchor_free;      /* first free slot of that table (which holds the next one), 0 for none */
  int anchor_top;       /* slots of that table used so far, free or not */
  int ref_threads;      /* registry ref of the table of reusable threads */
  int ref_handler;      /* registry ref of the exception handler, or LUA_NOREF */
  int ref_unretrieved;  /* registry ref: weak {[pointer] = failed future not yet looked at} */
  int ref_coros;        /* registry ref: weak {[anchor] = coroutine object} of the tasks not started yet */
  int ref_watchers;     /* registry ref of {[fd] = descriptor watcher} (watch.c), or LUA_NOREF */
  int debug;            /* debug mode: slow-step warnings, creation sites */
  /* Steps and callbacks take the slow path that measures them (debug mode,
   * or a recorder in rt: see src/lua/observe/observe.h). */
  uint8_t observe;
  /* The step or callback running now, as the recorder numbers them
   * (ALUA_NO_SLICE outside one, and always while nothing records): what a
   * wake-up or a completion stores as its cause. */
  uint32_t slice;
  uint64_t obs_cpu0;    /* thread CPU time when the observed step or callback began */
  struct lsignals *signals;   /* signal handlers (signals.c), NULL until the first */
  struct lexecutor *executor; /* worker pool (executor.c), NULL until first used */
  struct lchildren *children; /* SIGCHLD watcher of child processes without pidfd (process.c), or NULL */
  int id;               /* number in leftover reports (loop 1, loop 2, ...) */
  ac_list link;         /* in rt.loops while open */
  ac_list resources;    /* open streams, servers, UDP endpoints (alua__resource) */
  int ref_leftovers;    /* registry ref: what close found left behind, or LUA_NOREF */
} lloop;

/* An I/O object that must be closed before its loop is (a stream, a server,
 * a UDP endpoint): on its loop's `resources` list while its descriptor is
 * open, so that the leftover report (leftovers.c) can name what a program
 * left open. */
typedef struct alua__resource {
  ac_list link;         /* in lloop.resources while open */
  const char *what;     /* "stream", "server", "UDP endpoint" */
  const int *fd;        /* where the object keeps its descriptor */
} alua__resource;

enum fut_kind { KIND_FUTURE, KIND_TASK, KIND_GATHER };
enum fut_state { FUT_PENDING, FUT_FINISHED, FUT_CANCELLED };

/* The uservalue slots of a future (a gather adds its own after).
 * FUT_UV_RESULT holds the result (a table of them when more than one) or
 * the error once finished, the cancel message once cancelled. */
enum { FUT_UV_RESULT = 1, FUT_UV_LOOP, FUT_NUV };

/* A future: a value that arrives later. Tasks and gathers start with it. */
typedef struct future {
  uint8_t kind;        /* enum fut_kind */
  uint8_t state;       /* enum fut_state */
  uint8_t failed;      /* finished with an error (FUT_UV_RESULT holds it) */
  uint8_t retrieved;   /* the error was looked at: no "never retrieved" report */
  int nresults;        /* result count; >1 means FUT_UV_RESULT is a table */
  int ncallbacks;      /* Lua done callbacks registered and not yet run */
  uint8_t report_soon; /* failed with nobody waiting, at the prompt: report at the pass end */
  lloop *loop;         /* loop the future belongs to */
  ac_list waiters;     /* ac_callbacks moved to the ready queue at completion */
  int anchor;          /* ref in the loop's anchors while it must stay alive */
  uint32_t done_by;    /* the loop's slice when it completed (lloop.slice) */
} future;

/* The uservalue slots of a task: none of its own, since every uservalue
 * costs each task 16 bytes. The result's slot is free until the task ends,
 * so it holds the thread running the body (TASK_UV_THREAD; the body's
 * function and arguments are on its stack from the task's creation on).
 * The loop's slot holds the loop until one of the rarely set extras (the
 * name, the traceback, a cancel message not delivered yet) is set; then a
 * table {loop = the loop, name = ...} made for them
 * (alua__task_set_extra). */
enum { TASK_NUV = FUT_NUV };
#define TASK_UV_THREAD FUT_UV_RESULT
#define TASK_UV_EXTRA FUT_UV_LOOP

/* How a suspended task is resumed (task->resume); RESUME_START until its
 * first step: its thread holds the body and its arguments, not run yet. */
enum { RESUME_OK, RESUME_CANCEL, RESUME_START };

/* A kind of wait (park.c): one static instance per primitive and operation
 * (sleep, a future, Queue.get, Lock, a socket read, ...). A parked task
 * records its class, the object it waits on and the loop time; that is all
 * it costs. Reports (src/lua/observe/) read the rest from the class. */
typedef struct alua__waitclass {
  const char *what;        /* how reports name the wait: "sleep", "Queue.get", "Lock" */
  uint8_t forwards_cancel; /* `on` is a future: cancelling the task cancels it instead */
  /* Runs in the task when it is resumed because it was cancelled, before
   * its CancelledError is raised: undoes what parking set up, and when the
   * task had been woken (handed an item, a permit, a datagram it will now
   * not take) hands that wake-up on. NULL when there is nothing to undo. */
  void (*cancelled)(lua_State *L, void *on, int woken, lua_KContext ctx);
  /* Stack slot, in the parked C frame (the await hook's), of the Lua object
   * waited on (the queue, the lock, the future); 0 when there is none. */
  uint8_t slot;
  /* How a deadlock report ends a wait that nothing can end, after the
   * object: ", which no task will ever feed". NULL: ", which nothing will
   * ever end". */
  const char *never;
  /* Reports: pushes what follows `what` in the description of task t's
   * wait on `on` (the Lua object of `slot` is at obj, 0 when none), and may
   * set fields of the record table at rec (holder = the Task holding a
   * Lock). NULL: the object's tostring. Runs protected; may raise. */
  void (*describe)(lua_State *L, struct task *t, void *on, int obj, int rec);
} alua__waitclass;

/* Tasks in reports and traces. */
typedef struct alua__taskstats {
  uint32_t steps;     /* steps run while accounting was on */
  uint64_t cpu_ns;    /* thread CPU time of those steps */
  uint64_t waited_ns; /* loop time spent parked before them */
  uint32_t rec;       /* the recorder that numbered this task (its generation), or 0 */
  uint32_t track;     /* that recorder's track of the task */
} alua__taskstats;

typedef struct task {
  future f;             /* a task is a future: must be first */
  ac_callback step;     /* ready-queue / waiter-list link; fn = the task step */
  ac_timer timer;       /* sleep timer */
  lua_State *co;        /* thread of the body, from the task's creation (RESUME_START: not run yet); NULL once it ended */
  const alua__waitclass *wait; /* what the parked task waits on, NULL while it runs */
  void *wait_on;        /* the object it waits on (a future, a queue, a lock, ...) */
  uint64_t since;       /* loop time (ns) when it parked */
  int id;               /* number in the default name */
  int cancel_requests;  /* cancelling() */
  /* Set by whoever moved `step` to the ready queue (0 while parked): the
   * loop's current slice (lloop.slice), so a trace knows who woke it. */
  uint32_t woken;
  /* Coroutine objects awaited inline on the C stack since the last resume
   * (await.c): at AWAIT_CDEPTH_MAX the next one yields with `unwind` set,
   * and the step resumes the task at once on an empty C stack. (Lua's
   * limit of C levels keeps it below 256.) */
  uint8_t cdepth;
  uint8_t resume;          /* RESUME_* given to the continuation */
  uint8_t suspended;       /* set by alua__park just before it yields */
  /* The two flags set rarely share a byte, so that the record with its
   * two uservalues fits the allocator's 224-byte class (each 16 bytes a
   * task saves is 1% of a parked task); the others stay whole bytes, which
   * the hot paths store without reading first. */
  uint8_t must_cancel : 1; /* deliver CancelledError at the next step */
  /* With must_cancel: the task was taken off a wait that had not ended, as
   * asyncio cancels the future a task waits on. uncancel() can no longer
   * take such a request back, and later requests keep its message. */
  uint8_t cancel_delivered : 1;
  uint8_t unwind : 1;
} task;

/* The accounting record of the task at tidx (alua__taskstats), made in its
 * extras at its first step while lloop.observe is set, so that tasks
 * nobody observes do not carry it; NULL before, or when memory ran out
 * making it. Never raises. */
alua__taskstats *alua__task_stats(lua_State *L, int tidx);

/* -- site.c: creation sites -- */
/* Pushes the "file:line" of a site ("?" for 0). */
void alua__push_site(lua_State *L, rt *r, int id);
/* The "file:line" of a site, or "?", without allocating (a string kept by
 * the site table, which it may leave on the stack: restore the top). */
const char *alua__site_name(lua_State *L, rt *r, int id);
void alua__open_sites(lua_State *L, rt *r, int module, int internals);

/* -- forgotten.c: awaitables never awaited (SPEC 2.1) -- */
/* A fresh awaitable was made here: its finalizer warns unless it is taken. */
void alua__aw_made(lua_State *L, rt *r, alua__aw *aw);
/* A fresh awaitable was awaited (or otherwise taken): no warning. */
static inline void alua__aw_taken(rt *r, alua__aw *aw) {
  if (aw->pending == 0) return;
  aw->pending = 0;
  if (aw->pass == r->pass && r->aw_fresh > 0) r->aw_fresh--;
}
/* Sets up the record of a new shared operation of runtime r. */
static inline void alua__awop_init(alua__awop *op, rt *r) {
  op->aw.pending = 0;
  op->aw.site = 0;
  ac_list_init(&op->link);
  op->what = NULL;
  op->rt = r;
}
/* One hand-out of it was awaited (or taken by wait_for, gather, ...). */
static inline void alua__awop_taken(alua__awop *op) {
  if (op->aw.pending && --op->aw.pending == 0) op->rt->aw_handed--;
}
/* Finalizers: warn, as `what`, if the awaitable is still pending. */
void alua__aw_gone(lua_State *L, rt *r, alua__aw *aw, const char *what);
void alua__awop_gone(lua_State *L, alua__awop *op);
/* The sleep on top was just made (aw its record); holder is the index of
 * the holder (see forgotten.c). */
void alua__aw_nurse(lua_State *L, rt *r, alua__aw *aw, int holder);
/* The same for the coroutine object on top, with its own holder and
 * nursery: a pass end gives the pending ones the finalizer. */
void alua__aw_nurse_coro(lua_State *L, rt *r, alua__aw *aw, int holder);
/* After every loop pass: the collector step, and the shared operations
 * left unawaited a whole pass (the common pass has nothing to do). */
void alua__aw_pass_work(lua_State *L, rt *r);
/* True when the pass end has work for alua__aw_pass_work. */
static inline int alua__aw_pass_due(const rt *r) {
  return r->aw_handed || r->last_sleep || r->nursery_n || r->last_coro || r->coro_nursery_n || r->aw_fresh ||
         r->aw_collect || !ac_list_empty(&r->awops);
}
/* The end of a pass that had nothing to do. */
static inline void alua__aw_pass_count(rt *r) {
  r->ringn = 0;
  r->pass++;
}
static inline void alua__aw_pass_end(lua_State *L, rt *r) {
  if (alua__aw_pass_due(r)) alua__aw_pass_work(L, r);
  alua__aw_pass_count(r);
}
/* At state close: the shared operations still pending (L NULL: not
 * reported). */
void alua__aw_close(lua_State *L, rt *r);
void alua__open_forgotten(lua_State *L, rt *r, int module, int internals);

/* A coroutine object: what calling an async function returns (see coro.c for
 * its uservalues). */
typedef struct coro {
  alua__aw aw;          /* never-awaited tracking (its creation site) */
  int nargs;            /* arguments stored after the function */
  uint8_t consumed;     /* awaited or wrapped in a task already */
} coro;

/* Whether an object (a handle, a server, a watcher's handle) keeps the
 * program running after its main chunk (SPEC 2.2): while it is active and
 * not unref()'d, it counts in its loop's nkeep. */
typedef struct alua__keep {
  uint8_t counted;      /* counted in lp->nkeep now */
  uint8_t unref;        /* x:unref() was called (x:ref() undoes it) */
} alua__keep;

/* A callback scheduled by call_soon, call_later, call_at,
 * call_soon_threadsafe or add_signal_handler (handle.c). Uservalues: the
 * loop, the function, then its arguments. */
enum handle_kind { HANDLE_SOON, HANDLE_TIMER, HANDLE_THREADSAFE, HANDLE_SIGNAL, HANDLE_WATCH };

typedef struct handle {
  ac_callback cb;       /* ready-queue node (posted-list node when threadsafe) */
  ac_timer timer;       /* heap node of call_later / call_at */
  lloop *loop;          /* loop it belongs to */
  lua_Number when;      /* loop time it is due, in seconds (timers only) */
  int nargs;            /* arguments stored after the function */
  int ref;              /* anchor in the loop while scheduled, else LUA_NOREF */
  void *owner;          /* HANDLE_WATCH: the descriptor watcher (watch.c), NULL once removed */
  alua__keep keep;      /* keeps the program running while scheduled (not signal handlers) */
  uint8_t kind;         /* enum handle_kind */
  uint8_t cancelled;    /* cancel() was called */
} handle;

/* A blocking C job for the loop's worker pool, completed through a future
 * (executor.c). The owner allocates a record that starts with this struct,
 * fills work, complete and release, and hands it to alua__executor_submit. */
typedef struct alua__job alua__job;
struct alua__job {
  ac_work w;            /* pool node; set up by alua__executor_submit */
  /* Runs on a worker thread; must not touch any Lua state of the loop. */
  void (*work)(alua__job *j);
  /* Loop thread, only while the future (at futidx of L) is still pending:
   * completes it (alua__future_set_result / _set_error). Only called when
   * the work ran. May raise: the error then becomes the future's. */
  void (*complete)(lua_State *L, alua__job *j, int futidx);
  /* Frees the record; called exactly once, on the loop thread. */
  void (*release)(alua__job *j);
  int abandoned;        /* atomic: nobody waits for the outcome; work may stop early */
  lloop *loop;          /* executor-private from here on */
  int futref;           /* anchor of the future, LUA_NOREF once dropped */
  ac_callback watch;    /* on the future's waiter list: notices cancellation */
  ac_list link;         /* in the executor's list of jobs whose `done` has not run */
};

/* Values copied out of one Lua state to be rebuilt in another, possibly on
 * another thread (marshal.c). */
typedef struct alua__mbuf {
  char *data;           /* encoded values, malloc'd */
  size_t len;           /* bytes used */
  size_t cap;           /* bytes allocated */
} alua__mbuf;

/* -- errors.c: every error the bindings raise -- */
/* Finds the innermost frame of the user's code in L1 at or above `level`
 * (frames of asyncio's own Lua library are skipped); fills ar ("Sl") and
 * returns 1, or returns 0 when there is none. */
int alua__user_frame(lua_State *L1, int level, lua_Debug *ar);
/* Pushes "file:line: " of the innermost user frame of L, or "". */
void alua__push_user_where(lua_State *L);
/* Raises the formatted message positioned at the innermost frame of the
 * user's code, for misuse found in C called through the library. */
int alua__user_error(lua_State *L, const char *fmt, ...);
/* Raises "bad argument #argn to 'fname' (message)" at the user's frame. */
int alua__user_argerror(lua_State *L, int argn, const char *fname, const char *fmt, ...);
/* Raises a string error positioned at the function `level` levels up (1 in
 * an await hook: the code that awaited), asyncio's Lua frames skipped. */
int alua__error_at(lua_State *L, int level, const char *fmt, ...);
void alua__push_errclass(lua_State *L, rt *r, const char *cls);
/* Pushes a new asyncio error instance of class cls with message msg. */
void alua__push_error(lua_State *L, rt *r, const char *cls, const char *msg);
/* Raises (never returns) a new asyncio error positioned at level 1. */
int alua__raise(lua_State *L, rt *r, const char *cls, const char *fmt, ...);
/* Raises a new asyncio error of class cls from an await hook or its
 * continuation, positioned at the code that awaited (level 1). */
int alua__raise_await(lua_State *L, const char *cls, const char *msg);
/* True when the value at idx is an asyncio error of class cls (or a
 * subclass); cls NULL accepts any asyncio error class. */
int alua__iserror(lua_State *L, rt *r, int idx, const char *cls);
/* Pushes an asyncio.OSError object (of the subclass err calls for, as
 * Python's: ConnectionRefusedError, FileNotFoundError, ...) with fields
 * errno, strerror (why, or strerror(err) when why is NULL) and call (the
 * first word of what); its message is "what: why". */
void alua__push_oserror(lua_State *L, int err, const char *what, const char *why);
/* Raises that object with `what` formatted from fmt; err is positive. */
int alua__oserror(lua_State *L, int err, const char *fmt, ...);
/* Pushes tostring(v) for the value at idx; when its __tostring raises (or
 * memory runs out), a text that says so instead. Never raises: reports
 * must not be lost to a bad error object. */
void alua__push_tostring(lua_State *L, int idx);
void alua__open_errors(lua_State *L, rt *r, int module, int internals);

/* -- options.c: option tables -- */
/* Checks the option table at idx (nil or none: no options): a table whose
 * keys are all strings among `known` (NULL-terminated). Raises at the
 * user's frame "bad argument #argn to 'fname' (option table expected, got
 * T)" or "bad option 'k' to 'fname' (unknown option; options are ...)".
 * lib/asyncio/options.lua is its twin for the Lua library. */
void alua__check_options(lua_State *L, int idx, int argn, const char *fname, const char *const *known);

/* -- runtime.c -- */
/* The runtime: upvalue 1 of every module function. */
static inline rt *alua__rt(lua_State *L) { return (rt *)lua_touserdata(L, lua_upvalueindex(1)); }
/* The runtime of L's state from the registry (any context; slower). */
rt *alua__rt_state(lua_State *L);
/* lua_pcall that, on error, leaves two values: the error and a traceback
 * string (nil when none could be made). */
int alua__pcall_traced(lua_State *L, int nargs, int nres);
/* lua_pcall of the function below the nargs arguments on top, with
 * `handler` as its message handler. */
int alua__pcall_handled(lua_State *L, int nargs, int nres, lua_CFunction handler);
/* Sets the functions l, each with the runtime as upvalue 1, into the table
 * on top; the _at variant into the table at idx (the module or the
 * internals); addmethods into the metatable `name` made by another file
 * (the Loop's methods come from several). */
void alua__setfuncs(lua_State *L, rt *r, const luaL_Reg *l);
void alua__setfuncs_at(lua_State *L, rt *r, int idx, const luaL_Reg *l);
void alua__addmethods(lua_State *L, rt *r, const char *name, const luaL_Reg *l);
/* Tags the metatable on top with the field __asyncio = kind, which the Lua
 * side of await reads to dispatch without a C call: "c" (awaited by the C
 * await) or "coro" (an unconsumed coroutine object, run inline). */
void alua__tag_awaitable(lua_State *L, const char *kind);
/* Pushes the table kept in the registry under the light key `key`, made on
 * first use with weak `mode` ("k", "v", "kv"). */
void alua__push_weaktable(lua_State *L, const void *key, const char *mode);
/* The userdata at idx if its metatable has a value under the light key
 * `key` (how a type with several metatables is recognised), else NULL. */
void *alua__tomarked(lua_State *L, int idx, const void *key);
/* True for a plain table at idx: no metatable, so neither an awaitable nor
 * an object (how list and option arguments are told apart). */
static inline int alua__is_plain_table(lua_State *L, int idx) {
  if (!lua_istable(L, idx)) return 0;
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}
/* Push a value and return 1: the whole body of a getter,
 *   static int q_qsize(lua_State *L) { return alua__retint(L, checkqueue(L, 1)->count); } */
static inline int alua__retbool(lua_State *L, int b) {
  lua_pushboolean(L, b);
  return 1;
}
static inline int alua__retint(lua_State *L, lua_Integer i) {
  lua_pushinteger(L, i);
  return 1;
}
static inline int alua__retstr(lua_State *L, const char *s) {
  lua_pushstring(L, s);
  return 1;
}

/* What every __tostring builds: "<Name part part ...>". repr_begin starts b
 * with "<" and the formatted text (lua_pushfstring's formats), repr_add
 * appends formatted text, repr_end appends ">", pushes the text and returns
 * 1, what a __tostring returns. b lives on the stack: in between, push only
 * what is added to it (luaL_addvalue), as with any luaL_Buffer. */
void alua__repr_begin(lua_State *L, luaL_Buffer *b, const char *fmt, ...);
void alua__repr_add(luaL_Buffer *b, const char *fmt, ...);
int alua__repr_end(luaL_Buffer *b);
/* In a __gc metamethod: the userdata at 1, when the collector is the
 * caller; raises otherwise. Why: a class's metatable is its __index, so Lua
 * code can reach every __gc (obj.__gc(other), getmetatable(x).__gc(x)) and
 * hand it another object or one still in use; only the collector passes
 * the object it is done with. */
void *alua__gc_self(lua_State *L);
/* Creates the metatable `name` with methods `l` (__index = itself); leaves it
 * on the stack. */
void alua__newclass(lua_State *L, rt *r, const char *name, const luaL_Reg *l);
/* As alua__newclass, and each method also holds the metatable as its
 * second upvalue, so that it can check its `self` with alua__self. */
void alua__newclass_self(lua_State *L, rt *r, const char *name, const luaL_Reg *l);

/* In a method made by alua__newclass_self: the userdata at idx when it is
 * of the method's own class, else NULL. One comparison with the upvalue
 * instead of a hash lookup of the class (hot methods: reader:read()). Only
 * such a method may call it: elsewhere upvalue 2 is something else. */
static inline void *alua__self(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  int ok = lua_rawequal(L, -1, lua_upvalueindex(2));
  lua_pop(L, 1);
  return ok ? p : NULL;
}

/* -- loop.c -- */
/* Counts k in lp->nkeep while `active` and not unref'd; call it whenever
 * either changes. */
void alua__keepalive(lloop *lp, alua__keep *k, int active);
/* x:ref() (ref 1) / x:unref() (ref 0) for the object at 1 with k, active
 * as said; returns 1 (the object, for chaining). */
int alua__keep_ref(lua_State *L, lloop *lp, alua__keep *k, int active, int ref);
lloop *alua__checkloop(lua_State *L, int idx);
/* The loop at idx, or an error if it is not a loop or is closed. */
lloop *alua__checkopen(lua_State *L, int idx);
/* The running loop, else the default loop (created on first use). Pushes it. */
lloop *alua__push_current_loop(lua_State *L, rt *r);
void alua__pushloop(lua_State *L, lloop *lp);
/* Anchors the value at idx in the loop (keeps it alive); returns the ref. */
int alua__anchor(lua_State *L, lloop *lp, int idx);
void alua__unanchor(lua_State *L, lloop *lp, int ref);
void alua__push_anchored(lua_State *L, lloop *lp, int ref);
/* The ref the next alua__anchor of lp returns. */
int alua__anchor_next(const lloop *lp);
/* Pushes the list of lp's unfinished tasks, in creation order. */
void alua__push_tasks(lua_State *L, lloop *lp);
/* True when no callback, timer, descriptor or other thread can ever make
 * progress on lp: waiting any longer would hang forever. */
int alua__loop_stuck(lloop *lp);
/* Turns the awaitable at idx into a future of lp, replaced in place, as
 * asyncio.ensure_future: futures and tasks as they are (taken: no "never
 * awaited" warning), coroutine objects and functions become tasks, other
 * awaitables are wrapped in one. */
void alua__ensure_future(lua_State *L, lloop *lp, int idx);
/* What follows every pass of a loop, whoever runs it (loop runs, top-level
 * awaits, alua_step): Ctrl+C, forgotten awaits, recordings, then the work
 * posted from other threads. */
void alua__after_pass(lua_State *L, lloop *lp);
/* Runs lp until the future at idx is done; raises on misuse or deadlock,
 * positioned `level` levels up (see alua__error_at). */
void alua__run_until(lua_State *L, lloop *lp, int idx, int level);
/* alua_close's first part, run protected: every open loop of the state has
 * its tasks cancelled and run until done (or stuck) and is closed (unless a
 * loop is running: os.exit(code, true) from a task). Returns the runtime
 * (light userdata), or nothing when asyncio is not open. */
int alua__shutdown(lua_State *L);
void alua__open_loop(lua_State *L, rt *r, int module, int internals);

/* -- future.c -- */
future *alua__tofuture(lua_State *L, int idx); /* NULL if not a future/task/gather */
/* The userdata at idx if its metatable is one of the n at mts, else NULL. */
static inline void *alua__toclass(lua_State *L, int idx, const void *const *mts, int n) {
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  const void *mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  for (int i = 0; i < n; i++)
    if (mts[i] == mt) return p;
  return NULL;
}
/* As alua__tofuture and alua__tocoro, faster, for callers that have r. */
static inline future *alua__tofuture_rt(lua_State *L, rt *r, int idx) {
  return (future *)alua__toclass(L, idx, r->mt_future, r->nmt_future);
}
static inline coro *alua__tocoro_rt(lua_State *L, rt *r, int idx) {
  return (coro *)alua__toclass(L, idx, r->mt_coro, r->nmt_coro);
}
future *alua__checkfuture(lua_State *L, int idx);
future *alua__newfuture(lua_State *L, lloop *lp);
/* Sets a result from the n values on top (popped) and completes f (at idx). */
void alua__future_set_result(lua_State *L, int idx, int n);
/* Sets the error on top (popped) and completes f (at idx). */
void alua__future_set_error(lua_State *L, int idx);
/* Marks f cancelled with the message on top (popped; nil for none). */
void alua__future_set_cancelled(lua_State *L, int idx);
/* Pushes f's results (returns their count) or raises its error. */
int alua__future_push_result(lua_State *L, int idx);
/* Requests cancellation with the message on top (popped; nil for none);
 * returns 1 if the future (or task) will be cancelled. */
int alua__future_cancel(lua_State *L, int idx);
/* Drops f's anchor once it is done and has no callbacks left to run. */
void alua__future_release(lua_State *L, future *f);
void alua__future_init(lua_State *L, future *f, lloop *lp, int kind);
void alua__newfutureclass(lua_State *L, rt *r, const char *name, const luaL_Reg *extra);
/* Appends the state of the future at idx ("pending", "cancelled",
 * "finished result=...") to b; the _outcome variant only " result=..." or
 * " error=...". */
void alua__future_describe(lua_State *L, luaL_Buffer *b, int idx);
void alua__future_describe_outcome(lua_State *L, luaL_Buffer *b, int idx);
int alua__task_cancel(lua_State *L, int idx);
int alua__gather_cancel(lua_State *L, int idx);
/* Common methods for every future-like metatable. */
extern const luaL_Reg alua__future_methods[];
void alua__open_future(lua_State *L, rt *r, int module, int internals);

/* -- task.c -- */
task *alua__totask(lua_State *L, int idx);
/* Creates a task running the coroutine object / function at idx with the
 * `nargs` values after it; pushes it. */
task *alua__newtask(lua_State *L, lloop *lp, int idx, int nargs);
/* create_task's argument handling: coroutine object or function at `first`,
 * its arguments, an optional trailing {name = ...}; pushes the task. */
int alua__create_task_at(lua_State *L, lloop *lp, int first);
/* Pushes the name of the task at idx ("Task-3" when it has none). */
void alua__task_pushname(lua_State *L, int idx);
/* Pushes what names the body of the pending task t: the function its
 * thread runs. */
void alua__task_push_body(lua_State *L, task *t);
/* Sets field ("name", "traceback") of the task at idx to the value on top
 * (popped). */
void alua__task_set_extra(lua_State *L, int idx, const char *field);
/* Pushes that field of the task at idx (nil when unset); returns its type. */
int alua__task_get_extra(lua_State *L, int idx, const char *field);
/* Pushes the error to raise in a cancelled task or future (CancelledError with
 * the stored message). */
void alua__push_cancelled(lua_State *L, rt *r, int futidx);
void alua__open_task(lua_State *L, rt *r, int module, int internals);

/* -- coro.c -- */
coro *alua__tocoro(lua_State *L, int idx);
/* Marks the coroutine object at idx awaited or scheduled. */
void alua__coro_consume(lua_State *L, rt *r, int idx);
/* Pushes a consumed coroutine object for the function at fnidx and the nargs
 * values after it (what get_coro() gives for a task whose own is gone, or
 * which was made from a plain function). */
coro *alua__newcoro_for_task(lua_State *L, int fnidx, int nargs);
/* Pushes the body (function, arguments) of the coroutine at idx onto `to`;
 * returns the argument count. */
int alua__coro_push_body(lua_State *L, int idx, lua_State *to);
/* Pushes the function and arguments of the coroutine at idx; returns the
 * argument count. */
int alua__coro_push_call(lua_State *L, int idx);
/* Push the name of the coroutine at idx, and "file:line" of its function;
 * idx may also hold the function of a coroutine (what a started task
 * keeps). */
void alua__coro_pushname(lua_State *L, int idx);
void alua__coro_pushsite(lua_State *L, int idx);
/* True when the value at idx is an async function (asyncio.async's result). */
int alua__iscoroutinefunction(lua_State *L, int idx);
/* The coroutine object at idx was found not taken at a pass end: it gets
 * the metatable with the finalizer that warns. */
void alua__coro_track(lua_State *L, rt *r, int idx);
/* The state closes with the coroutine object at idx not taken: warns now
 * (finalizers set while the state closes are not run). */
void alua__coro_warn(lua_State *L, rt *r, int idx);
void alua__open_coro(lua_State *L, rt *r, int module, int internals);

/* -- park.c: how every wait suspends and resumes a task --
 *
 * A primitive parks the running task with alua__park; the task's own step
 * link goes on the primitive's waiter list (nothing is allocated), and the
 * task records what it waits on. Whoever can satisfy the wait moves the
 * link to the ready queue with alua__wake_first / alua__wake_all (or a
 * timer or a completion schedules the step). Cancellation takes the link off
 * whatever list holds it and schedules the step. Either way the task's
 * continuation k then runs, and it starts with alua__resumed: the one rule
 * that ends every wait. */

/* Parks the running task t on `waiters` (NULL when the caller arranged the
 * wake-up itself: a timer, the ready queue), recording that it waits on `on`
 * as `wc`, and suspends; k(L, ctx) continues in the task when it is resumed.
 * Only from an await hook or a continuation, as its return value. */
int alua__park(lua_State *L, task *t, ac_list *waiters, const alua__waitclass *wc, void *on, lua_KContext ctx,
               lua_KFunction k);
/* As alua__park, but at the front of `waiters`: for a woken task that found
 * its item, slot or datagram taken by a newcomer, so it keeps its turn. */
int alua__repark(lua_State *L, task *t, ac_list *waiters, const alua__waitclass *wc, void *on, lua_KContext ctx,
                 lua_KFunction k);
/* First call of every continuation: ends the wait and returns the task.
 * When the task was resumed by cancellation it runs the wait class's
 * `cancelled` hook and raises the CancelledError instead. */
task *alua__resumed(lua_State *L, lua_KContext ctx);
/* The same for a continuation that has the runtime at hand (from its
 * operation object): no upvalue read. */
task *alua__resumed_rt(lua_State *L, rt *r, lua_KContext ctx);
/* Wakes the first task parked on `waiters` (marks it woken and schedules
 * its step); returns 0 when nobody waits. */
int alua__wake_first(ac_list *waiters);
/* Wakes every task parked on `waiters`, in order. */
void alua__wake_all(ac_list *waiters);
/* Number of tasks parked on `waiters` (walks the list: for __tostring). */
int alua__count_waiters(const ac_list *waiters);
/* Takes the parked task t off whatever it waits on (waiter list, timer,
 * ready queue) and schedules its step, which then delivers a cancellation. */
void alua__unpark_for_cancel(task *t);

/* -- await.c -- */
/* The task running on L, or raises the proper error when await is not
 * allowed (the _slow part, out of line). */
task *alua__current_task_slow(lua_State *L, rt *r);
static inline task *alua__current_task(lua_State *L, rt *r) {
  task *t = r->current;
  if (t && t->co == L) return t;
  return alua__current_task_slow(L, r);
}
/* True for anything await accepts (futures, tasks, coroutine objects,
 * sleeps, and values with __await). */
int alua__isawaitable(lua_State *L, int idx);
void alua__open_await(lua_State *L, rt *r, int module, int internals);
/* The await hook. A metatable holding a C function under the light key
 * &alua__await_key makes its values awaitable: await calls that function
 * directly in its own C frame (not through lua_call, so upvalue 1 is still
 * the runtime), with the awaited value alone at stack index 1, whenever a
 * task or the loop is running. The function returns the await's results,
 * raises, or parks the current task (alua__current_task) and returns
 * alua__park(...); k then runs with the same stack. Outside the
 * loop, await first wraps the value in a task (internals.wrap). */
extern const char alua__await_key;
/* Makes hook the await hook of the metatable on top, which lives as long
 * as the runtime: await then finds it by the metatable's address. */
void alua__set_await_hook(lua_State *L, rt *r, lua_CFunction hook);

/* -- gather.c -- */
/* A gather was awaited or otherwise taken (see alua__future_taken). */
void alua__gather_taken(rt *r, future *f);
/* Its finalizer: warns if it never was. */
void alua__gather_gc(lua_State *L, rt *r, future *f);
/* Something looks at the future f's outcome (await, result, a done
 * callback, ...): a gather is then not forgotten. */
static inline void alua__future_taken(rt *r, future *f) {
  if (f->kind == KIND_GATHER) alua__gather_taken(r, f);
}
/* Pushes the list of children of the gather at idx. */
void alua__gather_push_children(lua_State *L, int idx);
void alua__open_gather(lua_State *L, rt *r, int module, int internals);

/* -- interrupt.c: Ctrl+C (see loop/interrupt.h) -- */
/* Acts on interrupts no pass has acted on yet: cancels the main future,
 * or counts them in r->unclaimed when there is none. Every loop pass is
 * followed by a call. */
void alua__interrupt_poll(lua_State *L, lloop *lp);
/* Makes the future at idx what interrupts cancel, unless something is
 * already; returns 1 if it did (then alua__interrupt_unclaim must follow). */
int alua__interrupt_claim(lua_State *L, int idx);
/* Forgets the main future; returns how many times interrupts cancelled it. */
int alua__interrupt_unclaim(lua_State *L);
/* Lists the state in the process-wide table alua_interrupt searches, and
 * takes it out (at close). */
void alua__interrupt_register(lua_State *L, rt *r);
void alua__interrupt_unregister(rt *r);
void alua__open_interrupt(lua_State *L, rt *r, int module, int internals);

/* -- ops.c: awaitable operation objects of queues, locks and events -- */
/* An operation object (q:get(), lock:acquire(), ...): awaiting it runs the
 * await hook of its metatable. Uservalue 1 is the object it acts on; a put
 * keeps its value in uservalue 2 until awaited. Larger operation records of
 * their own (sockets, streams, HTTP transfers) start the same way: the
 * awop, then the kind byte. */
typedef struct alua__op {
  alua__awop awop; /* handed out and not awaited yet (first: ops.c's finalizer reads it) */
  uint8_t kind;  /* which operation, as the owning type numbers them */
  uint8_t armed; /* uservalue 2 holds a value no await has taken yet */
  void *on;      /* the userdata it acts on (uservalue 1), for the hooks */
} alua__op;
/* Pushes a new operation of `kind` on the object at idx, with metatable mt
 * (created by alua__newopclass) and nuv >= 1 uservalues. */
alua__op *alua__newop(lua_State *L, int idx, int kind, int nuv, const char *mt);
/* Pushes the operation kept in uservalue uv of the object at idx (returns
 * 1); the first time, makes it (of kind, metatable mt, one uservalue)
 * acting on uservalue onuv of that object, or on the object itself when
 * onuv is 0, and keeps it. The operation is handed out as `what` (a
 * static string, "ev:wait()"): it warns if it is never awaited. */
int alua__push_op(lua_State *L, int idx, int uv, int onuv, int kind, const char *mt, const char *what);
/* The start of an operation's await hook, stack [op]: marks the operation
 * taken (no "never awaited" warning), pushes the object it acts on
 * (uservalue 1) at index 2 and returns it; *t is the awaiting task. */
void *alua__op_await_begin(lua_State *L, task **t);
/* Creates the metatable `name` of operations awaited through `hook`; pops
 * it. An operation of kind k shows as "<awaitable PREFIXnames[k]()>", as
 * "<awaitable q:get()>"; names must outlive the state (a static array). */
void alua__newopclass(lua_State *L, rt *r, const char *name, lua_CFunction hook, const char *prefix,
                      const char *const *names);

/* -- queue.c, lock.c, event.c -- */
void alua__open_queue(lua_State *L, rt *r, int module, int internals);
void alua__open_lock(lua_State *L, rt *r, int module, int internals);
void alua__open_event(lua_State *L, rt *r, int module, int internals);

/* -- leftovers.c: what a loop leaves behind when it closes -- */
/* Puts r on lp's list of open resources; fd points at its descriptor. */
void alua__resource_open(lloop *lp, alua__resource *r, const char *what, const int *fd);
/* Takes r off the list (its descriptor is closed); idempotent. */
void alua__resource_close(alua__resource *r);
/* Closes the descriptor of the watcher io of lp: unregisters it first
 * (unless the loop is closed: its core is gone), leaves io->fd at -1 and
 * takes res (NULL for none) off the list. A no-op once closed. */
void alua__close_io(lloop *lp, ac_io *io, alua__resource *res);
/* Records what lp still holds as it closes (unfinished tasks, anchored
 * objects, open resources, work on other threads, a live core), for
 * internals.loop_report. Never raises. */
void alua__leftovers_record(lua_State *L, lloop *lp);
void alua__open_leftovers(lua_State *L, rt *r, int module, int internals);

/* -- report.c: the exception handler and what is reported to it -- */
/* Reports an error (value on top, popped) through the loop's exception
 * handler, with `message` and the traceback at tbidx (0 for none). */
void alua__report(lua_State *L, lloop *lp, const char *message, int tbidx);
/* Reports the context table on top (popped) through the exception handler;
 * never raises. */
void alua__report_context(lua_State *L, lloop *lp);
/* Reports the unretrieved error of the future at idx to its loop's handler. */
void alua__future_report(lua_State *L, int idx);
/* Reports every failed future of lp whose error nobody retrieved; at close. */
void alua__report_unretrieved(lua_State *L, lloop *lp);
/* At the prompt, at a pass end: reports the tasks that failed in the pass
 * with nobody waiting for them and whose error is still not retrieved
 * (the statement's own task excepted), as Node reports an unhandled
 * rejection, instead of when they are collected. */
void alua__report_fresh_failures(lua_State *L, lloop *lp);
void alua__open_report(lua_State *L, rt *r, int module, int internals);

/* -- traceback.c -- */
/* Pushes L1's traceback from `level`, stopping at the first frame called
 * from C without a name (where a callback or task body was entered). */
void alua__push_traceback(lua_State *L, lua_State *L1, int level);
/* Records that task t failed with the error at idx and traceback tb. */
void alua__chain_add(lua_State *L, rt *r, int erridx, const char *who, const char *tb);
/* Pushes the report of the error at erridx raised in L1: its message, the
 * traceback of every task it went through (innermost first), then L1's own
 * stack from `level`. */
void alua__push_error_report(lua_State *L, int erridx, lua_State *L1, int level);

/* -- handle.c -- */
/* Checks that the value at idx can be called as a callback by `fname`
 * (functions and callable objects; never coroutines). */
void alua__check_callback(lua_State *L, int idx, const char *fname);
/* Pushes a new handle of lp running the function at fnidx with the nargs
 * values after it; not scheduled, not anchored. */
handle *alua__newhandle(lua_State *L, lloop *lp, int kind, int fnidx, int nargs);
/* Pushes "function <file:line>" for a function, else tostring(value). */
void alua__push_callable_desc(lua_State *L, int idx);
void alua__open_handle(lua_State *L, rt *r, int module, int internals);

/* -- signals.c -- */
/* Drops every signal handler of lp and restores the thread's signal mask; L
 * may be NULL (finalizers at state close: anchors are left alone). */
void alua__signals_close(lua_State *L, lloop *lp);
void alua__open_signals(lua_State *L, rt *r, int module, int internals);

/* -- watch.c: add_reader / add_writer, wait_readable / wait_writable -- */
/* Removes the add_reader / add_writer callback whose handle is h. */
void alua__watch_cancel(lua_State *L, handle *h);
/* Unregisters every descriptor of lp (closing). */
void alua__watchers_close(lua_State *L, lloop *lp);
void alua__open_watch(lua_State *L, rt *r, int module, int internals);

/* -- executor.c -- */
/* Queues the C job j on lp's worker pool and pushes the future it completes.
 * Cancelling the future marks j abandoned (and drops it if no worker took it
 * yet); its outcome is then dropped. On failure, releases j and raises. */
future *alua__executor_submit(lua_State *L, lloop *lp, alua__job *j);
/* Shuts lp's pool down (waits for running jobs, which are told they are
 * abandoned) and releases every job left; L may be NULL as above. */
void alua__executor_close(lua_State *L, lloop *lp);

/* -- worker.c: Lua functions on worker threads (run_in_executor, to_thread) -- */
void alua__open_worker(lua_State *L, rt *r, int module, int internals);

/* -- marshal.c -- */
/* Appends the n values from idx on to b. Returns 0, or -1 with err (errlen
 * bytes) describing what cannot be copied and where (e.g. "a function at
 * .cb") and *which set to the 1-based position of that value (0 when the
 * failure is not one value's, such as memory). Never raises. */
int alua__marshal(lua_State *L, int idx, int n, alua__mbuf *b, char *err, size_t errlen, int *which);
/* Pushes the values stored in b and returns their count; raises only on
 * memory errors. */
int alua__unmarshal(lua_State *L, const alua__mbuf *b);
void alua__mbuf_free(alua__mbuf *b);

/* -- debug.c -- */
/* True when coroutine objects created now record where (debug mode of the
 * runtime or of the running loop). */
int alua__debug_coros(rt *r);
/* Records the innermost user frame's "file:line" of L as the creation site
 * of the object at idx (frames of asyncio's Lua library are skipped). Only
 * for C functions called from Lua: may raise memory errors. */
void alua__debug_record(lua_State *L, int idx);
/* Pushes the creation site recorded for the object at idx and returns 1, or
 * pushes nothing and returns 0. Never raises. */
int alua__debug_push_site(lua_State *L, int idx);
/* Appends " created at SITE" to b when a site was recorded for idx. */
void alua__debug_add_site(lua_State *L, luaL_Buffer *b, int idx);
/* Warns on stderr when what started at `start` (ac_clock_ns) ran for the
 * slow-callback threshold or longer, describing the value at idx. Never
 * raises. */
void alua__debug_slow(lua_State *L, lloop *lp, int idx, uint64_t start);
void alua__open_debug(lua_State *L, rt *r, int module, int internals);

/* -- embed/: the host's side of the loop (alua.h) --
 *
 * Work posted from other threads (alua_post, host future completions) goes
 * to the state's hub, a malloc'd record outside the Lua state that lives
 * until the state is closed and the last host future handle is released.
 * Whatever loop of the state runs next takes it (alua__hub_drain after each
 * pass); the hub wakes the loop it targets: the running loop, else the one
 * the host drives. */
typedef struct alua__hub alua__hub;
/* Creates the hub of r's state (whose main thread is L) and registers it
 * for alua_post. Raises on memory errors. */
void alua__hub_open(lua_State *L, rt *r);
/* Closes the hub (alua_close, or the runtime's finalizer): posted functions
 * and completions still queued are called with L == NULL, later ones too.
 * Never raises; runs no Lua code. */
void alua__hub_close(rt *r);
/* __gc of the runtime: alua__hub_close, and alua_fd's descriptor closed. */
void alua__hub_gc(rt *r);
/* Runs the work queued on the hub (loop thread, between passes); never
 * raises. Cheap when nothing is queued. */
void alua__hub_drain(lua_State *L, rt *r);
/* True when work is queued on the hub. */
int alua__hub_pending(rt *r);
/* Makes `core` the loop a post wakes (NULL: none); returns the previous
 * target. Wakes it at once if work is queued. */
ac_loop *alua__hub_target(rt *r, ac_loop *core);
/* lp is closing: it stops being a target or alua_fd's loop, and its host
 * futures are cancelled (on_cancel runs; L NULL at state close: no Lua). */
void alua__host_loop_closing(lua_State *L, lloop *lp);

/* -- io.c: streams, servers, UDP, sockets, processes, files, DNS (see io.h) -- */
void alua__open_io(lua_State *L, rt *r, int module, int internals);

/* -- http/http.c: the HTTP client's C half (curl multi handles, transfers) -- */
void alua__open_http(lua_State *L, rt *r, int module, int internals);

#endif

/* Shared records of the asyncio bindings: the per-state runtime, loops,
 * futures, tasks and coroutine objects. Only src/lua/ includes this. */
#ifndef ALUA_LUA_INTERNAL_H
#define ALUA_LUA_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>

#include "core/loop.h"

/* Metatable names, used by luaL_checkudata and in error messages. */
#define MT_LOOP "asyncio.Loop"
#define MT_FUTURE "asyncio.Future"
#define MT_TASK "asyncio.Task"
#define MT_GATHER "asyncio.GatheringFuture"
#define MT_CORO "asyncio.coroutine"
#define MT_SLEEP "asyncio.sleep"

struct lloop;
struct task;

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
  int debug;                /* debug mode requested by ALUA_DEBUG */
} rt;

typedef struct lloop {
  ac_loop core;         /* the event core */
  rt *rt;               /* owning runtime */
  lua_State *L;         /* thread that runs the loop now; valid while running */
  ac_list tasks;        /* unfinished tasks, in creation order */
  int ntasks;           /* length of `tasks` */
  int nthreads;         /* threads kept for reuse in LOOP_UV_THREADS */
  int running;          /* inside run_until_complete / run_forever */
  int stopping;         /* stop() was called */
  int closed;           /* close() was called */
  int selfref;          /* registry ref keeping the loop alive while running */
  int ref_anchors;      /* registry ref of the table that keeps objects alive */
  int ref_threads;      /* registry ref of the table of reusable threads */
  int ref_handler;      /* registry ref of the exception handler, or LUA_NOREF */
  int ref_unretrieved;  /* registry ref: weak {[pointer] = failed future not yet looked at} */
  int external;         /* pending work that other threads will post back */
} lloop;

enum fut_kind { KIND_FUTURE, KIND_TASK, KIND_GATHER };
enum fut_state { FUT_PENDING, FUT_FINISHED, FUT_CANCELLED };

/* The uservalue slots of a future (a task and a gather add their own after). */
enum { FUT_UV_RESULT = 1, FUT_UV_CANCELMSG, FUT_UV_LOOP, FUT_NUV };

/* A future: a value that arrives later. Tasks and gathers start with it. */
typedef struct future {
  uint8_t kind;        /* enum fut_kind */
  uint8_t state;       /* enum fut_state */
  uint8_t failed;      /* finished with an error (FUT_UV_RESULT holds it) */
  uint8_t retrieved;   /* the error was looked at: no "never retrieved" report */
  int nresults;        /* result count; >1 means FUT_UV_RESULT is a table */
  int ncallbacks;      /* Lua done callbacks registered and not yet run */
  lloop *loop;         /* loop the future belongs to */
  ac_list waiters;     /* ac_callbacks moved to the ready queue at completion */
  int anchor;          /* ref in the loop's anchors while it must stay alive */
} future;

/* The uservalue slots a task adds. */
enum { TASK_UV_NAME = FUT_NUV, TASK_UV_CORO, TASK_UV_THREAD, TASK_UV_TRACEBACK, TASK_NUV };

/* How a suspended task is resumed (task->resume). */
enum { RESUME_OK, RESUME_CANCEL };

typedef struct task {
  future f;             /* a task is a future: must be first */
  ac_callback step;     /* ready-queue / waiter-list link; fn = the task step */
  ac_timer timer;       /* sleep timer */
  ac_list link;         /* in loop->tasks while unfinished */
  lua_State *co;        /* thread running the body; NULL before the first step */
  future *awaiting;     /* future this task is suspended on, or NULL */
  int id;               /* number in the default name */
  int cancel_requests;  /* cancelling() */
  uint8_t must_cancel;  /* deliver CancelledError at the next step */
  uint8_t resume;       /* RESUME_* given to the continuation */
  uint8_t suspended;    /* set by an await just before it yields */
  uint8_t woken;        /* set by whoever moved `step` to the ready queue */
} task;

/* A coroutine object: what calling an async function returns (see coro.c for
 * its uservalues). */
typedef struct coro {
  int nargs;            /* arguments stored after the function */
  uint8_t consumed;     /* awaited or wrapped in a task already */
} coro;

/* -- runtime.c -- */
rt *alua_rt(lua_State *L);                  /* upvalue 1 of a module function */
void alua_push_errclass(lua_State *L, rt *r, const char *cls);
/* Pushes a new asyncio error instance of class cls with message msg. */
void alua_push_error(lua_State *L, rt *r, const char *cls, const char *msg);
/* Raises a string error positioned at the function `level` levels up (2 for
 * C functions reached through asyncio.await, so the user's line shows). */
int alua_error_at(lua_State *L, int level, const char *fmt, ...);
/* lua_pcall that, on error, leaves two values: the error and a traceback
 * string (nil when none could be made). */
int alua_pcall_traced(lua_State *L, int nargs, int nres);
/* Raises (never returns) a new asyncio error. */
int alua_raise(lua_State *L, rt *r, const char *cls, const char *fmt, ...);
/* True when the value at idx is an asyncio error of class cls (or a
 * subclass); cls NULL accepts any asyncio error class. */
int alua_iserror(lua_State *L, rt *r, int idx, const char *cls);
void alua_setfuncs(lua_State *L, rt *r, const luaL_Reg *l);
/* Creates the metatable `name` with methods `l` (__index = itself); leaves it
 * on the stack. */
void alua_newclass(lua_State *L, rt *r, const char *name, const luaL_Reg *l);

/* -- loop.c -- */
lloop *alua_checkloop(lua_State *L, int idx);
/* The running loop, else the default loop (created on first use). Pushes it. */
lloop *alua_push_current_loop(lua_State *L, rt *r);
void alua_pushloop(lua_State *L, lloop *lp);
/* Anchors the value at idx in the loop (keeps it alive); returns the ref. */
int alua_anchor(lua_State *L, lloop *lp, int idx);
void alua_unanchor(lua_State *L, lloop *lp, int ref);
void alua_push_anchored(lua_State *L, lloop *lp, int ref);
/* Runs lp until the future at idx is done; raises on misuse or deadlock. */
void alua_run_until(lua_State *L, lloop *lp, int idx);
/* Reports an error (value on top, popped) through the loop's exception handler. */
void alua_report(lua_State *L, lloop *lp, const char *message, int tbidx);
void alua_open_loop(lua_State *L, rt *r, int module, int internals);

/* -- future.c -- */
future *alua_tofuture(lua_State *L, int idx); /* NULL if not a future/task/gather */
future *alua_checkfuture(lua_State *L, int idx);
future *alua_newfuture(lua_State *L, lloop *lp);
/* Sets a result from the n values on top (popped) and completes f (at idx). */
void alua_future_set_result(lua_State *L, int idx, int n);
/* Sets the error on top (popped) and completes f (at idx). */
void alua_future_set_error(lua_State *L, int idx);
/* Marks f cancelled with the message on top (popped; nil for none). */
void alua_future_set_cancelled(lua_State *L, int idx);
/* Pushes f's results (returns their count) or raises its error. */
int alua_future_push_result(lua_State *L, int idx);
/* Requests cancellation with the message on top (popped; nil for none);
 * returns 1 if the future (or task) will be cancelled. */
int alua_future_cancel(lua_State *L, int idx);
/* Drops f's anchor once it is done and has no callbacks left to run. */
void alua_future_release(lua_State *L, future *f);
void alua_future_init(lua_State *L, future *f, lloop *lp, int kind);
void alua_newfutureclass(lua_State *L, rt *r, const char *name, const luaL_Reg *extra);
/* Appends the state of the future at idx ("pending", "cancelled",
 * "finished result=...") to b; the _outcome variant only " result=..." or
 * " error=...". */
void alua_future_describe(lua_State *L, luaL_Buffer *b, int idx);
void alua_future_describe_outcome(lua_State *L, luaL_Buffer *b, int idx);
int alua_task_cancel(lua_State *L, int idx);
int alua_gather_cancel(lua_State *L, int idx);
/* Reports the unretrieved error of the future at idx to its loop's handler. */
void alua_future_report(lua_State *L, int idx);
/* Common methods for every future-like metatable. */
extern const luaL_Reg alua_future_methods[];
void alua_open_future(lua_State *L, rt *r, int module, int internals);

/* -- task.c -- */
task *alua_totask(lua_State *L, int idx);
/* Creates a task running the coroutine object / function at idx with the
 * `nargs` values after it; pushes it. */
task *alua_newtask(lua_State *L, lloop *lp, int idx, int nargs);
/* Pushes the error to raise in a cancelled task or future (CancelledError with
 * the stored message). */
void alua_push_cancelled(lua_State *L, rt *r, int futidx);
void alua_task_cancel_wait(task *t);
void alua_open_task(lua_State *L, rt *r, int module, int internals);

/* -- coro.c -- */
coro *alua_tocoro(lua_State *L, int idx);
/* Marks the coroutine object at idx awaited or scheduled. */
void alua_coro_consume(lua_State *L, int idx);
/* Pushes a consumed coroutine object for the function at fnidx and the nargs
 * values after it (create_task with a plain function). */
coro *alua_newcoro_for_task(lua_State *L, int fnidx, int nargs);
/* Pushes the body (function, arguments) of the coroutine at idx onto `to`;
 * returns the argument count. */
int alua_coro_push_body(lua_State *L, int idx, lua_State *to);
/* Push the name of the coroutine at idx, and "file:line" of its function. */
void alua_coro_pushname(lua_State *L, int idx);
void alua_coro_pushsite(lua_State *L, int idx);
/* True when the value at idx is an async function (asyncio.async's result). */
int alua_iscoroutinefunction(lua_State *L, int idx);
void alua_open_coro(lua_State *L, rt *r, int module, int internals);

/* -- await.c -- */
/* Suspends the current task t (running on L) until its step callback is run;
 * k continues in the task. Every wait in the module ends with this. */
int alua_suspend(lua_State *L, task *t, lua_KContext ctx, lua_KFunction k);
/* The task running on L, or raises the proper error when await is not allowed. */
task *alua_current_task(lua_State *L, rt *r);
void alua_open_await(lua_State *L, rt *r, int module, int internals);

/* -- gather.c -- */
void alua_open_gather(lua_State *L, rt *r, int module, int internals);

/* -- traceback.c -- */
/* Pushes L1's traceback from `level`, stopping at the first frame called
 * from C without a name (where a callback or task body was entered). */
void alua_push_traceback(lua_State *L, lua_State *L1, int level);
/* Records that task t failed with the error at idx and traceback tb. */
void alua_chain_add(lua_State *L, rt *r, int erridx, const char *who, const char *tb);
/* Pushes the report of the error at erridx raised in L1: its message, the
 * traceback of every task it went through (innermost first), then L1's own
 * stack from `level`. */
void alua_push_error_report(lua_State *L, int erridx, lua_State *L1, int level);

#endif

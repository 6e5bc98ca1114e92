/* Ctrl+C: one machine for the alua program, asyncio.run, loop runs,
 * top-level await and the prompt (see interrupt.h), and alua_interrupt,
 * the entry point a host calls from its own signal handler. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "alua.h"
#include "core/clock.h"
#include "lua/internal.h"
#include "lua/loop/interrupt.h"

/* How long code other than the main task may hold the loop after an
 * interrupt before the hook stops it there, and how many instructions
 * apart the hook looks again meanwhile. */
#define HOLD_NS 500000000u
#define RECHECK_COUNT 10000

/* -- the states alua_interrupt can find ---------------------------------- */

/* Why a list of nodes that are never freed: alua_interrupt runs in signal
 * handlers, which may neither lock nor follow a pointer to memory another
 * thread could free. A node is claimed with `used`, filled, then published
 * by storing L; taking it out stores NULL first. */
typedef struct node {
  struct node *next; /* next node; set before the node is published */
  lua_State *L;      /* the state's main thread, NULL when free (atomic) */
  rt *r;             /* its runtime (atomic) */
  int used;          /* claimed by a state (atomic) */
} node;

static node *nodes; /* head of the list (atomic) */

void alua__interrupt_register(lua_State *L, rt *r) {
  node *n;
  for (n = __atomic_load_n(&nodes, __ATOMIC_ACQUIRE); n; n = n->next) {
    int expected = 0;
    if (__atomic_compare_exchange_n(&n->used, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
  }
  if (!n) {
    n = calloc(1, sizeof *n);
    if (!n) return; /* alua_interrupt then treats the state as a plain one */
    n->used = 1;
    n->next = __atomic_load_n(&nodes, __ATOMIC_ACQUIRE);
    while (!__atomic_compare_exchange_n(&nodes, &n->next, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
  }
  __atomic_store_n(&n->r, r, __ATOMIC_RELEASE);
  __atomic_store_n(&n->L, L, __ATOMIC_RELEASE);
}

static void drop_owners(lua_State *L);

void alua__interrupt_unregister(rt *r) {
  drop_owners(r->main);
  for (node *n = __atomic_load_n(&nodes, __ATOMIC_ACQUIRE); n; n = n->next) {
    if (__atomic_load_n(&n->r, __ATOMIC_ACQUIRE) != r) continue;
    __atomic_store_n(&n->L, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&n->r, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&n->used, 0, __ATOMIC_RELEASE);
    return;
  }
}

static rt *find(lua_State *L) {
  for (node *n = __atomic_load_n(&nodes, __ATOMIC_ACQUIRE); n; n = n->next)
    if (__atomic_load_n(&n->L, __ATOMIC_ACQUIRE) == L) return __atomic_load_n(&n->r, __ATOMIC_ACQUIRE);
  return NULL;
}

/* -- the hook -------------------------------------------------------------- */

/* A debug hook the script set on a thread before an interrupt replaced it,
 * put back when the interrupt's hook has run. One slot: a second thread's
 * hook is not kept (lua5.4 keeps none). */
static struct {
  lua_State *L;      /* thread whose hook was replaced, or NULL */
  lua_Hook hook;     /* its hook */
  int mask;          /* its mask */
  int count;         /* its count */
} saved;

static void interrupt_hook(lua_State *L, lua_Debug *ar);
static void plain_hook(lua_State *L, lua_Debug *ar);

/* Async-signal-safe: hooks co so that it stops at its next instruction
 * (also at a call or return, to get out of C code sooner), as lua5.4's
 * laction does. */
static void hook_thread(lua_State *co, lua_Hook hook) {
  lua_Hook old = lua_gethook(co);
  if (old != interrupt_hook && old != plain_hook && old != NULL && saved.L == NULL) {
    saved.hook = old;
    saved.mask = lua_gethookmask(co);
    saved.count = lua_gethookcount(co);
    saved.L = co;
  }
  lua_sethook(co, hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

/* Takes the interrupt hook off L, giving back the script's own. */
static void unhook_thread(lua_State *L) {
  if (saved.L == L) {
    lua_sethook(L, saved.hook, saved.mask, saved.count);
    saved.L = NULL;
  } else if (lua_gethook(L) == interrupt_hook || lua_gethook(L) == plain_hook) {
    lua_sethook(L, NULL, 0, 0);
  }
}

/* Requests the cancellation of the running task t (at L's top) as
 * task:cancel() does: it is raised at the task's next await. */
static void request_cancel(lua_State *L, task *t) {
  alua__push_anchored(L, t->f.loop, t->f.anchor);
  lua_pushnil(L);
  alua__future_cancel(L, -2);
  lua_pop(L, 1);
}

/* Raises the cancellation requested of the running task t now, at L's
 * current instruction, instead of at its next await. */
static int deliver_cancel(lua_State *L, rt *r, task *t) {
  t->must_cancel = 0;
  alua__push_anchored(L, t->f.loop, t->f.anchor);
  alua__push_cancelled(L, r, lua_gettop(L));
  return lua_error(L);
}

/* True once the interrupt has waited HOLD_NS for the loop. */
static int held_too_long(rt *r) {
  return ac_clock_ns() - __atomic_load_n(&r->interrupted_at, __ATOMIC_ACQUIRE) >= HOLD_NS;
}

/* Looks again after RECHECK_COUNT instructions. */
static void recheck(lua_State *L) { lua_sethook(L, interrupt_hook, LUA_MASKCOUNT, RECHECK_COUNT); }

/* Runs at the interrupted thread's next instruction, unless the loop acted
 * on the interrupt first (then it only removes itself). */
static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  unhook_thread(L);
  rt *r = alua__rt_state(L);
  if (!r) luaL_error(L, "interrupted!");
  int pending = __atomic_load_n(&r->interrupts, __ATOMIC_ACQUIRE);
  task *cur = r->current;
  int intask = cur && cur->co == L;
  if (intask && &cur->f == r->main_fut && (pending || r->main_hold)) {
    /* The main task runs: cancelled as task:cancel() would, at its next
     * await; raised here only if it holds the loop for HOLD_NS, or at a
     * second interrupt. */
    if (pending) __atomic_store_n(&r->interrupts, 0, __ATOMIC_RELEASE);
    if (pending && r->main_hold && cur->must_cancel) deliver_cancel(L, r, cur);
    if (pending) {
      r->main_hold = 1;
      r->main_interrupted++;
      request_cancel(L, cur);
    }
    if (!cur->must_cancel) {
      r->main_hold = 0; /* delivered already, at an await */
      return;
    }
    if (!held_too_long(r)) {
      recheck(L);
      return;
    }
    r->main_hold = 0;
    deliver_cancel(L, r, cur);
  }
  if (pending == 0) return;
  if (!intask && !r->running && r->host_step) {
    /* alua_step is entering its pass, whose end acts on the interrupt */
    recheck(L);
    return;
  }
  if (!intask && !r->running && !r->host_driven) {
    /* plain Lua code: as lua5.4 (in a state whose loop the host drives,
     * code run between steps is the host's, and treated as a callback) */
    __atomic_store_n(&r->interrupts, 0, __ATOMIC_RELEASE);
    r->plain_interrupted = 1;
    luaL_error(L, "interrupted!");
  }
  /* another task or a callback: it may yield any moment, and then the loop
   * cancels the main task; stop it only when it does not */
  if (pending < 2 && !held_too_long(r)) {
    recheck(L);
    return;
  }
  r->stopped = intask ? 1 : 2;
  if (intask) {
    request_cancel(L, cur);
    deliver_cancel(L, r, cur);
  }
  luaL_error(L, "interrupted!");
}

/* Hook for a state without the asyncio module: lua5.4's. */
static void plain_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  unhook_thread(L);
  luaL_error(L, "interrupted!");
}

ALUA_API void alua_interrupt(lua_State *L) {
  int saved_errno = errno;
  rt *r = find(L);
  if (!r) {
    hook_thread(L, plain_hook);
    errno = saved_errno;
    return;
  }
  if (__atomic_add_fetch(&r->interrupts, 1, __ATOMIC_ACQ_REL) == 1)
    __atomic_store_n(&r->interrupted_at, ac_clock_ns(), __ATOMIC_RELEASE);
  /* the loop running now, else the one a host's own main loop sleeps on
   * (alua_fd): it is woken so that its next alua_step acts on this */
  lloop *lp = r->running ? r->running : r->hostfd_loop;
  /* Only the thread that runs the state may hook its threads: from any
   * other, the thread being hooked could finish and be freed meanwhile. */
  if (pthread_equal(pthread_self(), r->thread)) {
    task *cur = r->current;
    lua_State *co = cur && cur->co ? cur->co : r->running ? r->running->L : r->main;
    if (co) hook_thread(co, interrupt_hook);
  }
  if (lp) ac_loop_wake(&lp->core);
  errno = saved_errno;
}

/* -- what the loop does about it -------------------------------------------- */

void alua__interrupt_poll(lua_State *L, lloop *lp) {
  rt *r = lp->rt;
  if (__atomic_load_n(&r->interrupts, __ATOMIC_RELAXED) == 0) return;
  int n = __atomic_exchange_n(&r->interrupts, 0, __ATOMIC_ACQ_REL);
  if (n == 0) return;
  future *m = r->main_fut;
  if (m && m->state == FUT_PENDING && m->loop == lp) {
    r->main_interrupted++;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_main);
    lua_pushnil(L);
    alua__future_cancel(L, -2);
    lua_pop(L, 1);
  } else {
    r->unclaimed += n;
  }
}

int alua__interrupt_claim(lua_State *L, int idx) {
  future *f = alua__tofuture(L, idx);
  rt *r = f->loop->rt;
  if (r->main_fut) return 0;
  lua_pushvalue(L, idx);
  r->ref_main = luaL_ref(L, LUA_REGISTRYINDEX);
  r->main_fut = f;
  r->main_interrupted = 0;
  return 1;
}

int alua__interrupt_unclaim(lua_State *L) {
  rt *r = alua__rt_state(L);
  int n = r->main_interrupted;
  luaL_unref(L, LUA_REGISTRYINDEX, r->ref_main);
  r->ref_main = LUA_NOREF;
  r->main_fut = NULL;
  r->main_interrupted = 0;
  r->main_hold = 0;
  return n;
}

ALUA_API int alua_interrupts(lua_State *L, int *stopped) {
  rt *r = alua__rt_state(L);
  if (stopped) *stopped = r ? r->stopped : 0;
  if (!r) return 0;
  int n = r->unclaimed;
  r->unclaimed = 0;
  r->stopped = 0;
  return n;
}

/* True when the error at idx, reaching the top of a chunk, is what Ctrl+C
 * made: the CancelledError of a top-level await it cancelled, or the
 * "interrupted!" error it raised in plain code. Reading it resets it. */
static int was_interrupt(lua_State *L, int idx) {
  rt *r = alua__rt_state(L);
  if (!r) return 0;
  if (r->toplevel_cancelled && alua__iserror(L, r, idx, "CancelledError")) {
    r->toplevel_cancelled = 0;
    return 1;
  }
  size_t len;
  const char *msg = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &len) : NULL;
  static const char suffix[] = "interrupted!";
  if (r->plain_interrupted && msg && len >= sizeof suffix - 1 && strcmp(msg + len - (sizeof suffix - 1), suffix) == 0) {
    r->plain_interrupted = 0;
    return 1;
  }
  return 0;
}

/* -- who owns SIGINT ---------------------------------------------------------- */

#define MAX_OWNERS 32

/* Why process-wide statics: SIGINT's disposition belongs to the process,
 * and its handler can reach nothing else. */
static struct {
  lua_State *L;               /* main thread of the owner's state */
  int kind;                   /* enum alua__sigint_owner */
  int active;                 /* alua's handler is in place for it */
  int installed;              /* this owner put it there */
  struct sigaction previous;  /* disposition to restore when it did */
} owners[MAX_OWNERS];
static int depth;                      /* owners on the stack */
static lua_State *volatile target;     /* state the handler interrupts, or NULL */
static volatile sig_atomic_t kill_second; /* a second press stops the process */
static volatile sig_atomic_t presses;  /* presses since the handler went in */

static void on_sigint(int sig) {
  int saved_errno = errno;
  if (kill_second && presses > 0) {
    /* the second one: stop now, as the default disposition would */
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved_errno;
    return;
  }
  if (presses < 1000) presses++;
  lua_State *L = target;
  if (L) alua_interrupt(L);
  errno = saved_errno;
}

/* The handler follows the innermost owner that has it. */
static void retarget(void) {
  target = NULL;
  kill_second = 0;
  for (int i = depth - 1; i >= 0; i--) {
    if (!owners[i].active) continue;
    target = owners[i].L;
    kill_second = owners[i].kind != ALUA_SIGINT_REPL;
    return;
  }
}

int alua__sigint_acquire(lua_State *L, int kind) {
  rt *r = alua__rt_state(L);
  if (!r || depth >= MAX_OWNERS) return -1;
  struct sigaction current;
  if (sigaction(SIGINT, NULL, &current) != 0) return -1;
  int ours = !(current.sa_flags & SA_SIGINFO) && current.sa_handler == on_sigint;
  int take = ours || kind != ALUA_SIGINT_RUN || current.sa_handler == SIG_DFL;
  int i = depth;
  owners[i].L = r->main;
  owners[i].kind = kind;
  owners[i].active = 0;
  owners[i].installed = 0;
  if (take && !ours) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    presses = 0;
    if (sigaction(SIGINT, &sa, &owners[i].previous) == 0) owners[i].installed = 1;
  }
  owners[i].active = take && (ours || owners[i].installed);
  depth++;
  retarget();
  return i;
}

void alua__sigint_release(lua_State *L, int token) {
  if (token < 0 || token >= depth) return;
  /* owners are released in order; an owner left behind by an error is
   * released with the one below it */
  for (int i = depth - 1; i >= token; i--)
    if (owners[i].installed) sigaction(SIGINT, &owners[i].previous, NULL);
  depth = token;
  retarget();
  if (depth == 0) {
    /* nobody handles Ctrl+C now: an interrupt nothing acted on is dropped */
    rt *r = alua__rt_state(L);
    if (r) {
      __atomic_store_n(&r->interrupts, 0, __ATOMIC_RELEASE);
      r->unclaimed = 0;
      unhook_thread(r->main);
    }
  }
}

/* The state of L is closing: its owners go (whatever they installed is put
 * back), so that the handler never reaches a closed state. */
static void drop_owners(lua_State *L) {
  int j = 0;
  for (int i = 0; i < depth; i++) {
    if (owners[i].L == L) {
      if (owners[i].installed) sigaction(SIGINT, &owners[i].previous, NULL);
      continue;
    }
    owners[j++] = owners[i];
  }
  depth = j;
  retarget();
}

/* -- for a host (alua.h) ----------------------------------------------------- */

ALUA_API int alua_sigint(lua_State *L, int mode) {
  rt *r = alua__rt_state(L);
  if (!r || mode < ALUA_SIGINT_DEFAULT || mode > ALUA_SIGINT_PROMPT) return -1;
  int old = r->sigint_mode;
  if (mode == old) return old;
  int kind = mode == ALUA_SIGINT_PROMPT ? ALUA_SIGINT_REPL : ALUA_SIGINT_PROGRAM;
  if (mode == ALUA_SIGINT_INTERRUPT) r->plain_interrupted = r->toplevel_cancelled = 0;
  int t = r->sigint_token;
  int held = t >= 0 && t < depth && owners[t].L == r->main;
  if (mode == ALUA_SIGINT_DEFAULT) {
    if (held) alua__sigint_release(L, t);
    r->sigint_token = -1;
  } else if (held) {
    /* from one of alua's modes to the other: the same hold, so that the
     * presses counted so far and the owners above it stay */
    owners[t].kind = kind;
    retarget();
  } else {
    r->sigint_token = alua__sigint_acquire(L, kind);
    if (r->sigint_token < 0) return -1;
  }
  r->sigint_mode = mode;
  return old;
}

ALUA_API int alua_report(lua_State *L, int idx, int level) {
  idx = lua_absindex(L, idx);
  rt *r = alua__rt_state(L);
  if (r && (alua__iserror(L, r, idx, "KeyboardInterrupt") || was_interrupt(L, idx))) {
    lua_pushliteral(L, "KeyboardInterrupt");
    return 1;
  }
  alua__push_error_report(L, idx, L, level);
  return 0;
}

/* -- for asyncio.run ------------------------------------------------------------- */

#define MT_SIGINT_SCOPE "asyncio.sigint scope"

/* Closing the scope releases its hold on SIGINT (once). */
static int scope_close(lua_State *L) {
  int *token = luaL_checkudata(L, 1, MT_SIGINT_SCOPE);
  if (*token >= 0) alua__sigint_release(L, *token);
  *token = -1;
  return 0;
}

/* internals.sigint_scope(): holds SIGINT for asyncio.run until the value
 * returned is closed (a <close> variable), so that the presses are counted
 * across the main task and the shutdown that follows it. */
static int l_sigint_scope(lua_State *L) {
  int *token = lua_newuserdatauv(L, sizeof *token, 0);
  *token = -1;
  luaL_setmetatable(L, MT_SIGINT_SCOPE);
  *token = alua__sigint_acquire(L, ALUA_SIGINT_RUN);
  return 1;
}

void alua__open_interrupt(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"__close", scope_close}, {NULL, NULL}};
  alua__newclass(L, r, MT_SIGINT_SCOPE, methods);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"sigint_scope", l_sigint_scope}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}

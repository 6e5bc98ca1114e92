/* The host's side of the loop (alua.h): the state's hub of work posted from
 * other threads, the descriptor and timeout a host's own main loop watches,
 * one pass at a time, and running a program's main chunk. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lua/embed/embed.h"

/* -- the hub ----------------------------------------------------------------- */

/* Why a process-wide table: alua_post gets a lua_State from another thread,
 * which must not touch the state to find its hub. Keyed by the main thread;
 * a handful of states per process at most. */
static pthread_mutex_t hubs_mu = PTHREAD_MUTEX_INITIALIZER;
static alua__hub *hubs;

void alua__hub_gc(rt *r) {
  alua__hub_close(r);
  if (r->hostfd >= 0) close(r->hostfd);
  r->hostfd = -1;
}

void alua__hub_open(lua_State *L, rt *r) {
  r->hostfd = -1;
  r->hostfd_loop = NULL;
  alua__hub *h = calloc(1, sizeof *h);
  if (!h || pthread_mutex_init(&h->mu, NULL) != 0) {
    free(h);
    luaL_error(L, "not enough memory");
  }
  h->refs = 1;
  h->main = r->main;
  ac_list_init(&h->queue);
  ac_list_init(&h->futures);
  pthread_mutex_lock(&hubs_mu);
  h->next = hubs;
  hubs = h;
  pthread_mutex_unlock(&hubs_mu);
  r->hub = h;
}

void alua__hub_unref(alua__hub *h) {
  pthread_mutex_lock(&h->mu);
  int last = --h->refs == 0;
  pthread_mutex_unlock(&h->mu);
  if (!last) return;
  pthread_mutex_destroy(&h->mu);
  free(h);
}

void alua__hub_close(rt *r) {
  alua__hub *h = r->hub;
  if (!h) return;
  r->hub = NULL;
  pthread_mutex_lock(&hubs_mu);
  for (alua__hub **p = &hubs; *p; p = &(*p)->next) {
    if (*p == h) {
      *p = h->next;
      break;
    }
  }
  pthread_mutex_unlock(&hubs_mu);
  /* The state is closing on the loop thread: handles still outstanding
   * lose their loops. While the hub is open only this thread changes
   * h->futures, and on_cancel may complete a future (that only queues). */
  for (ac_list *p = h->futures.next; p != &h->futures; p = p->next)
    alua__host_future_detach(NULL, ac_container_of(p, alua_future, link));
  ac_list queue;
  ac_list_init(&queue);
  pthread_mutex_lock(&h->mu);
  h->closed = 1;
  h->target = NULL;
  ac_list_splice(&queue, &h->queue);
  h->npending = 0;
  pthread_mutex_unlock(&h->mu);
  ac_list *n;
  while ((n = ac_list_pop_front(&queue))) {
    hubitem *it = ac_container_of(n, hubitem, link);
    if (it->fn) {
      it->fn(NULL, it->ud);
      free(it);
    } else {
      alua__host_future_take(NULL, ac_container_of(it, alua_future, item));
    }
  }
  alua__hub_unref(h);
}

int alua__hub_pending(rt *r) { return r->hub && __atomic_load_n(&r->hub->npending, __ATOMIC_RELAXED) > 0; }

ac_loop *alua__hub_target(rt *r, ac_loop *core) {
  alua__hub *h = r->hub;
  if (!h) return NULL;
  pthread_mutex_lock(&h->mu);
  ac_loop *old = h->target;
  h->target = core;
  if (core && h->npending > 0) ac_loop_wake(core);
  pthread_mutex_unlock(&h->mu);
  return old;
}

/* Protected: runs the posted function of the item at 1. */
static int p_posted(lua_State *L) {
  hubitem *it = lua_touserdata(L, 1);
  lua_settop(L, 0);
  it->fn(L, it->ud);
  return 0;
}

void alua__hub_drain(lua_State *L, rt *r) {
  if (!alua__hub_pending(r)) return;
  alua__hub *h = r->hub;
  ac_list batch;
  ac_list_init(&batch);
  pthread_mutex_lock(&h->mu);
  ac_list_splice(&batch, &h->queue);
  h->npending = 0;
  pthread_mutex_unlock(&h->mu);
  int top = lua_gettop(L);
  ac_list *n;
  while ((n = ac_list_pop_front(&batch))) {
    hubitem *it = ac_container_of(n, hubitem, link);
    if (!it->fn) {
      alua__host_future_take(L, ac_container_of(it, alua_future, item));
      continue;
    }
    lua_pushcfunction(L, p_posted);
    lua_pushlightuserdata(L, it);
    int status = alua__pcall_traced(L, 1, 0);
    free(it);
    if (status != LUA_OK) {
      if (r->running) {
        lua_pushvalue(L, -2);
        alua__report(L, r->running, "Exception in a function posted with alua_post", lua_gettop(L) - 1);
      } else {
        fprintf(stderr, "Exception in a function posted with alua_post: %s\n",
                lua_isstring(L, -2) ? lua_tostring(L, -2) : luaL_typename(L, -2));
        fflush(stderr);
      }
    }
    lua_settop(L, top);
  }
}

int alua_post(lua_State *L, void (*fn)(lua_State *L, void *ud), void *ud) {
  if (!fn) return -EINVAL;
  hubitem *it = malloc(sizeof *it);
  if (!it) return -ENOMEM;
  it->fn = fn;
  it->ud = ud;
  pthread_mutex_lock(&hubs_mu);
  alua__hub *h = hubs;
  while (h && h->main != L) h = h->next;
  if (!h) {
    pthread_mutex_unlock(&hubs_mu);
    free(it);
    return -EINVAL;
  }
  pthread_mutex_lock(&h->mu);
  ac_list_push_back(&h->queue, &it->link);
  __atomic_store_n(&h->npending, h->npending + 1, __ATOMIC_RELAXED);
  /* under the lock: a target is closed only after it was cleared here */
  if (h->target) ac_loop_wake(h->target);
  pthread_mutex_unlock(&h->mu);
  pthread_mutex_unlock(&hubs_mu);
  return 0;
}

/* -- the loop the host drives ---------------------------------------------- */

/* The runtime of L's state, or NULL when asyncio is not open there. Never
 * raises: the registry key is interned when the runtime is made. */
static rt *getrt(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.rt") != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return NULL;
  }
  rt *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

/* The state's default loop if it exists and is open, else NULL. */
static lloop *default_loop(lua_State *L, rt *r) {
  if (r->ref_default_loop == LUA_NOREF) return NULL;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_default_loop);
  lloop *lp = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return lp && !lp->closed ? lp : NULL;
}

/* Protected: the default loop, created if needed (light userdata). */
static int p_default_loop(lua_State *L) {
  rt *r = lua_touserdata(L, 1);
  lloop *lp = alua__push_current_loop(L, r);
  lua_pushlightuserdata(L, lp);
  return 1;
}

/* The default loop, created if needed; NULL (errno in *err) on failure. */
static lloop *ensure_loop(lua_State *L, rt *r, int *err) {
  lloop *lp = default_loop(L, r);
  if (lp) return lp;
  lua_pushcfunction(L, p_default_loop);
  lua_pushlightuserdata(L, r);
  int status = lua_pcall(L, 1, 1, 0);
  lp = status == LUA_OK ? lua_touserdata(L, -1) : NULL;
  lua_pop(L, 1);
  *err = status == LUA_ERRMEM ? -ENOMEM : -EIO;
  return lp;
}

/* The host's loop is lp from now on: alua_fd watches it and posts wake it. */
static void follow(rt *r, lloop *lp) {
  r->host_driven = 1;
  if (r->hostfd >= 0 && r->hostfd_loop != lp) {
    struct epoll_event ev = {.events = EPOLLIN};
    if (r->hostfd_loop)
      epoll_ctl(r->hostfd, EPOLL_CTL_DEL, ac_loop_fd(&r->hostfd_loop->core), &ev);
    r->hostfd_loop = NULL;
    if (epoll_ctl(r->hostfd, EPOLL_CTL_ADD, ac_loop_fd(&lp->core), &ev) == 0) r->hostfd_loop = lp;
  }
  alua__hub_target(r, &lp->core);
}

void alua__host_loop_closing(lua_State *L, lloop *lp) {
  rt *r = lp->rt;
  if (r->hostfd_loop == lp) {
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(r->hostfd, EPOLL_CTL_DEL, ac_loop_fd(&lp->core), &ev);
    r->hostfd_loop = NULL;
  }
  alua__hub *h = r->hub;
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  if (h->target == &lp->core) h->target = NULL;
  pthread_mutex_unlock(&h->mu);
  for (ac_list *p = h->futures.next, *next; p != &h->futures; p = next) {
    next = p->next;
    alua_future *hf = ac_container_of(p, alua_future, link);
    if (hf->loop == lp) alua__host_future_detach(L, hf);
  }
}

int alua_fd(lua_State *L) {
  rt *r = getrt(L);
  if (!r) return -EINVAL;
  if (r->hostfd < 0) {
    r->hostfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->hostfd < 0) return -errno;
  }
  int err = 0;
  lloop *lp = r->running ? r->running : ensure_loop(L, r, &err);
  if (!lp) return err;
  follow(r, lp);
  return r->hostfd;
}

int alua_timeout_ms(lua_State *L) {
  rt *r = getrt(L);
  if (!r) return -1;
  if (r->running || alua__hub_pending(r)) return 0;
  lloop *lp = default_loop(L, r);
  if (!lp) return -1;
  follow(r, lp);
  return ac_loop_timeout_ms(&lp->core);
}

/* What alua_step hands its protected part. */
struct step {
  rt *r;          /* the runtime */
  int timeout;    /* the host's bound, ms (-1: none) */
  lloop *lp;      /* the loop that ran, once known */
  int result;     /* ALUA_IDLE, ALUA_MORE or -errno */
};

/* Waits until the loop's descriptor is readable or ms pass. */
static void wait_fd(lloop *lp, int ms) {
  struct pollfd p = {.fd = ac_loop_fd(&lp->core), .events = POLLIN};
  poll(&p, 1, ms);
}

static int p_step(lua_State *L) {
  struct step *s = lua_touserdata(L, 1);
  rt *r = s->r;
  lloop *lp = alua__push_current_loop(L, r);
  s->lp = lp;
  follow(r, lp);
  ac_loop *core = &lp->core;
  int wait = s->timeout;
  lp->running = 1;
  lp->L = L;
  r->running = lp;
  r->thread = pthread_self();
  /* what was posted since the last pass runs in this one: a host that
   * completes futures and then steps resumes their tasks in this step */
  alua__hub_drain(L, r);
  if (alua__hub_pending(r)) wait = 0;
  int rc;
  if (wait == 0) {
    rc = ac_loop_run_once(core, 0);
  } else {
    /* the core sleeps until the next timer at most; a bound shorter than
     * that is kept by waiting here first */
    int next = ac_loop_timeout_ms(core);
    if (wait > 0 && (next < 0 || next > wait)) {
      wait_fd(lp, wait);
      rc = ac_loop_run_once(core, 0);
    } else {
      rc = ac_loop_run_once(core, 1);
    }
  }
  alua__after_pass(L, lp);
  if (rc < 0 && rc != -EINTR) s->result = rc;
  else s->result = ac_loop_alive(core) || alua__hub_pending(r) ? ALUA_MORE : ALUA_IDLE;
  return 0;
}

int alua_step(lua_State *L, int timeout_ms) {
  rt *r = getrt(L);
  if (!r) return -EINVAL;
  if (r->running) return -EBUSY;
  struct step s = {r, timeout_ms < 0 ? -1 : timeout_ms, NULL, ALUA_IDLE};
  int top = lua_gettop(L);
  r->host_step = 1;
  lua_pushcfunction(L, p_step);
  lua_pushlightuserdata(L, &s);
  int status = lua_pcall(L, 1, 0, 0);
  if (s.lp) {
    /* the host owns the loop: loop:stop() from a callback means nothing */
    s.lp->running = 0;
    s.lp->stopping = 0;
    s.lp->L = NULL;
  }
  r->running = NULL;
  r->host_step = 0;
  if (status != LUA_OK) {
    /* only the pass's own bookkeeping can raise here (callbacks and tasks
     * are protected): memory */
    lua_settop(L, top);
    return status == LUA_ERRMEM ? -ENOMEM : -EIO;
  }
  lua_settop(L, top);
  return s.result;
}

/* -- the main chunk ------------------------------------------------------------ */

/* Message handler of alua_pcallmain: the full report of the error. */
static int main_handler(lua_State *L) {
  alua__push_error_report(L, 1, L, 1);
  return 1;
}

/* Protected part of alua_finish. A raw read: a program that never used
 * asyncio's tasks has none to finish (and the module's base is not made). */
static int finish_p(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") != LUA_TTABLE) return 0;
  lua_pushliteral(L, "finish_tasks");
  if (lua_rawget(L, -2) == LUA_TFUNCTION) lua_call(L, 0, 0);
  return 0;
}

int alua_finish(lua_State *L) {
  rt *r = getrt(L);
  if (!r || r->running) return LUA_OK;
  lua_pushcfunction(L, finish_p);
  return lua_pcall(L, 0, 0, 0);
}

int alua_pcallmain(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs; /* the function, then its results */
  int status = alua__pcall_handled(L, nargs, nresults, main_handler);
  rt *r = status == LUA_OK ? getrt(L) : NULL;
  if (!r || r->host_driven || r->running) return status;
  /* like Node: the tasks the program started finish before it ends */
  lua_pushcfunction(L, finish_p);
  status = alua__pcall_handled(L, 0, 0, main_handler);
  if (status != LUA_OK) {
    /* the report replaces the results */
    lua_insert(L, base);
    lua_settop(L, base);
  }
  return status;
}

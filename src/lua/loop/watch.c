/* Descriptors the host or a C library owns, watched by the loop:
 * loop:add_reader / add_writer call a function whenever the descriptor is
 * ready, and tasks wait for readiness with await asyncio.wait_readable(fd)
 * / wait_writable(fd). One watcher per (loop, descriptor) gathers both
 * directions' callback and parked tasks into one epoll interest, which
 * follows what is left (nothing: unregistered, and the watcher goes). */
#include <errno.h>
#include <string.h>

#include "lua/internal.h"

#define MT_WATCHER "asyncio.watcher"
#define MT_WAITFD "asyncio.wait_readable"

enum { DIR_READ, DIR_WRITE };

typedef struct watcher {
  ac_io io;             /* the loop's interest in fd */
  lloop *loop;          /* its loop; NULL once the loop closed */
  handle *cb[2];        /* add_reader / add_writer callback, or NULL */
  ac_list waiters[2];   /* tasks parked in wait_readable / wait_writable */
  int ref;              /* key in the loop's table of watchers while in use */
} watcher;

/* await asyncio.wait_readable(fd) / wait_writable(fd): an awaitable. */
typedef struct waitfd {
  alua__aw aw;          /* never-awaited tracking (forgotten.c) */
  int fd;               /* descriptor */
  uint8_t dir;          /* DIR_READ or DIR_WRITE */
} waitfd;

static const char *const dir_names[] = {"wait_readable", "wait_writable"};

/* The descriptor at idx: an integer >= 0, or an object whose fileno()
 * returns one. */
static int checkfd(lua_State *L, int idx, int argn, const char *fname) {
  int isnum;
  lua_Integer fd = lua_tointegerx(L, idx, &isnum);
  if (!isnum && luaL_getmetafield(L, idx, "fileno") != LUA_TNIL) {
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    fd = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
  }
  if (!isnum)
    return alua__user_argerror(L, argn, fname, "file descriptor expected, got %s", luaL_typename(L, idx));
  if (fd < 0 || fd > INT32_MAX)
    return alua__user_argerror(L, argn, fname, "invalid file descriptor %I", (LUAI_UACINT)fd);
  return (int)fd;
}

/* Pushes the loop's table of watchers, {[fd] = watcher}. */
static void push_watchers(lua_State *L, lloop *lp) {
  if (lp->ref_watchers == LUA_NOREF) {
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lp->ref_watchers = luaL_ref(L, LUA_REGISTRYINDEX);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_watchers);
}

/* The watcher of fd in lp, or NULL. */
static watcher *find(lua_State *L, lloop *lp, int fd) {
  if (lp->ref_watchers == LUA_NOREF) return NULL;
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_watchers);
  lua_rawgeti(L, -1, fd);
  watcher *w = lua_touserdata(L, -1);
  lua_pop(L, 2);
  return w;
}

static void on_ready(ac_io *io, uint32_t revents);

/* The watcher of fd in lp, made when there is none. */
static watcher *get(lua_State *L, lloop *lp, int fd) {
  watcher *w = find(L, lp, fd);
  if (w) return w;
  push_watchers(L, lp);
  w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  ac_io_init(&w->io, fd, on_ready);
  w->loop = lp;
  ac_list_init(&w->waiters[DIR_READ]);
  ac_list_init(&w->waiters[DIR_WRITE]);
  luaL_setmetatable(L, MT_WATCHER);
  lua_rawseti(L, -2, fd);
  lua_pop(L, 1);
  return w;
}

static int in_use(const watcher *w, int dir) { return w->cb[dir] || !ac_list_empty(&w->waiters[dir]); }

/* Registers the interest that what is left needs; returns 0 or a negative
 * errno. A watcher that nothing uses any more leaves the loop's table (L
 * NULL: the caller cannot touch Lua; it stays until the next update). */
static int update(lua_State *L, watcher *w) {
  lloop *lp = w->loop;
  if (!lp || lp->closed) return 0;
  uint32_t ev = (in_use(w, DIR_READ) ? EPOLLIN : 0) | (in_use(w, DIR_WRITE) ? EPOLLOUT : 0);
  int rc = ac_io_start(&lp->core, &w->io, ev);
  if (rc == -ENOENT) {
    /* the descriptor was closed and its number reused: epoll forgot it */
    ac_io_stop(&lp->core, &w->io);
    rc = ac_io_start(&lp->core, &w->io, ev);
  }
  if (ev == 0 && L) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_watchers);
    lua_pushnil(L);
    lua_rawseti(L, -2, w->io.fd);
    lua_pop(L, 1);
  }
  return rc;
}

/* Raises the error that registering fd failed with. */
static int fd_error(lua_State *L, int err, int fd, const char *fname) {
  if (err == EEXIST)
    return alua__user_error(L, "%s: file descriptor %d is already watched by the loop (a stream, server or socket uses it)",
                            fname, fd);
  return alua__oserror(L, err, "%s", fname);
}

/* Poll phase: queues the callbacks (once per pass, however often the
 * descriptor shows up ready) and wakes the parked tasks. An error or a
 * hang-up counts as both directions, as in asyncio. */
static void on_ready(ac_io *io, uint32_t revents) {
  watcher *w = ac_container_of(io, watcher, io);
  ac_loop *core = &w->loop->core;
  int ready[2] = {(revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0, (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0};
  for (int dir = 0; dir < 2; dir++) {
    if (!ready[dir]) continue;
    handle *h = w->cb[dir];
    if (h && !ac_callback_pending(&h->cb)) ac_loop_enqueue(core, &h->cb);
    alua__wake_all(&w->waiters[dir]);
  }
  /* the woken tasks are off the lists: their interest goes with them */
  update(NULL, w);
}

/* Drops the callback of one direction: it will not run again. */
static void drop_cb(lua_State *L, watcher *w, int dir) {
  handle *h = w->cb[dir];
  if (!h) return;
  w->cb[dir] = NULL;
  h->owner = NULL;
  h->cancelled = 1;
  if (w->loop && !w->loop->closed) ac_callback_cancel(&h->cb);
  if (L && w->loop) alua__unanchor(L, w->loop, h->ref);
  h->ref = LUA_NOREF;
  if (w->loop) alua__keepalive(w->loop, &h->keep, 0);
}

/* loop:add_reader(fd, fn, ...) / add_writer: fn(...) runs as a callback in
 * every pass in which fd is ready; replaces the earlier callback of that
 * direction. Returns the handle: cancel() removes it, unref() lets the
 * program end without waiting for it. */
static int add_cb(lua_State *L, int dir, const char *fname) {
  lloop *lp = alua__checkopen(L, 1);
  int fd = checkfd(L, 2, 1, fname);
  alua__check_callback(L, 3, fname);
  handle *h = alua__newhandle(L, lp, HANDLE_WATCH, 3, lua_gettop(L) - 3);
  int hidx = lua_gettop(L);
  watcher *w = get(L, lp, fd);
  drop_cb(L, w, dir);
  h->ref = alua__anchor(L, lp, hidx);
  h->owner = w;
  w->cb[dir] = h;
  alua__keepalive(lp, &h->keep, 1);
  int rc = update(L, w);
  if (rc < 0) {
    drop_cb(L, w, dir);
    update(L, w);
    return fd_error(L, -rc, fd, fname);
  }
  lua_pushvalue(L, hidx);
  return 1;
}

/* loop:remove_reader(fd) / remove_writer: true if a callback was removed. */
static int remove_cb(lua_State *L, int dir, const char *fname) {
  lloop *lp = alua__checkloop(L, 1);
  int fd = checkfd(L, 2, 1, fname);
  watcher *w = lp->closed ? NULL : find(L, lp, fd);
  int had = w && w->cb[dir];
  if (had) {
    drop_cb(L, w, dir);
    update(L, w);
  }
  lua_pushboolean(L, had);
  return 1;
}

static int l_add_reader(lua_State *L) { return add_cb(L, DIR_READ, "add_reader"); }
static int l_add_writer(lua_State *L) { return add_cb(L, DIR_WRITE, "add_writer"); }
static int l_remove_reader(lua_State *L) { return remove_cb(L, DIR_READ, "remove_reader"); }
static int l_remove_writer(lua_State *L) { return remove_cb(L, DIR_WRITE, "remove_writer"); }

void alua__watch_cancel(lua_State *L, handle *h) {
  watcher *w = h->owner;
  if (!w) return;
  drop_cb(L, w, w->cb[DIR_READ] == h ? DIR_READ : DIR_WRITE);
  update(L, w);
}

/* -- tasks: wait_readable / wait_writable ---------------------------------- */

/* A cancelled wait takes its interest with it. */
static void wait_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  (void)woken;
  (void)ctx;
  update(L, on);
}

/* Reports: " fd=N". */
static void describe_wait(lua_State *L, task *t, void *on, int obj, int rec) {
  (void)t;
  (void)obj;
  (void)rec;
  lua_pushfstring(L, " fd=%d", ((watcher *)on)->io.fd);
}

static const alua__waitclass wait_read = {.what = "wait_readable", .cancelled = wait_cancelled, .describe = describe_wait};
static const alua__waitclass wait_write = {.what = "wait_writable", .cancelled = wait_cancelled, .describe = describe_wait};

static int k_wait(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  alua__resumed(L, ctx);
  return 0;
}

/* The await hook: stack [waitfd]. Parks the task until fd is ready. */
static int waitfd_await(lua_State *L) {
  rt *r = alua__rt(L);
  waitfd *o = lua_touserdata(L, 1);
  alua__aw_taken(r, &o->aw);
  task *t = alua__current_task(L, r);
  lloop *lp = t->f.loop;
  watcher *w = get(L, lp, o->fd);
  /* parked first, so that update() registers this task's interest */
  ac_list_push_back(&w->waiters[o->dir], &t->step.link);
  int rc = update(L, w);
  if (rc < 0) {
    ac_list_remove(&t->step.link);
    update(L, w);
    if (rc == -EEXIST)
      return alua__error_at(L, 1, "%s: file descriptor %d is already watched by the loop (a stream, server or socket uses it)",
                            dir_names[o->dir], o->fd);
    alua__push_oserror(L, -rc, dir_names[o->dir], NULL);
    return lua_error(L);
  }
  return alua__park(L, t, NULL, o->dir == DIR_READ ? &wait_read : &wait_write, w, 0, k_wait);
}

static int waitfd_new(lua_State *L, int dir) {
  int fd = checkfd(L, 1, 1, dir_names[dir]);
  waitfd *o = lua_newuserdatauv(L, sizeof *o, 0);
  o->fd = fd;
  o->dir = (uint8_t)dir;
  luaL_setmetatable(L, MT_WAITFD);
  alua__aw_made(L, alua__rt(L), &o->aw);
  return 1;
}

/* asyncio.wait_readable(fd) / wait_writable(fd): awaitables that return
 * once fd is ready (or has an error or hang-up to report). */
static int l_wait_readable(lua_State *L) { return waitfd_new(L, DIR_READ); }
static int l_wait_writable(lua_State *L) { return waitfd_new(L, DIR_WRITE); }

static int waitfd_gc(lua_State *L) {
  static const char *const names[] = {"asyncio.wait_readable()", "asyncio.wait_writable()"};
  waitfd *o = alua__gc_self(L);
  alua__aw_gone(L, alua__rt(L), &o->aw, names[o->dir]);
  return 0;
}

static int waitfd_tostring(lua_State *L) {
  waitfd *o = luaL_checkudata(L, 1, MT_WAITFD);
  lua_pushfstring(L, "<%s fd=%d>", dir_names[o->dir], o->fd);
  return 1;
}

/* -- closing ---------------------------------------------------------------- */

void alua__watchers_close(lua_State *L, lloop *lp) {
  if (lp->ref_watchers == LUA_NOREF || !L) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_watchers);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    watcher *w = lua_touserdata(L, -1);
    drop_cb(L, w, DIR_READ);
    drop_cb(L, w, DIR_WRITE);
    ac_io_stop(&lp->core, &w->io);
    w->loop = NULL;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_watchers);
  lp->ref_watchers = LUA_NOREF;
}

void alua__open_watch(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg none[] = {{NULL, NULL}};
  alua__newclass(L, r, MT_WATCHER, none);
  lua_pop(L, 1);
  static const luaL_Reg methods[] = {{"__tostring", waitfd_tostring}, {"__gc", waitfd_gc}, {NULL, NULL}};
  alua__newclass(L, r, MT_WAITFD, methods);
  alua__set_await_hook(L, r, waitfd_await);
  alua__tag_awaitable(L, "c");
  lua_pop(L, 1);
  static const luaL_Reg loop_methods[] = {{"add_reader", l_add_reader},
                                          {"add_writer", l_add_writer},
                                          {"remove_reader", l_remove_reader},
                                          {"remove_writer", l_remove_writer},
                                          {NULL, NULL}};
  luaL_getmetatable(L, MT_LOOP);
  alua__setfuncs(L, r, loop_methods);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"wait_readable", l_wait_readable}, {"wait_writable", l_wait_writable}, {NULL, NULL}};
  lua_pushvalue(L, module);
  alua__setfuncs(L, r, funcs);
  lua_pop(L, 1);
  (void)internals;
}

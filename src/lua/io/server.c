/* Servers: asyncio.start_server / start_unix_server (the Lua side in
 * lib/asyncio/streams.lua resolves names and calls internals.server_new).
 *
 * A server owns up to MAX_LISTENERS listening sockets (one per address:
 * "localhost" may be both 127.0.0.1 and ::1). While it serves, each one's
 * watcher is registered for EPOLLIN and the server is anchored in the loop:
 * only the loop knows it then. An accept-readiness event accepts up to
 * ACCEPT_BATCH connections; each becomes a stream and a new task running
 * the Lua dispatcher (internals.serve_client), which calls the handler with
 * (reader, writer), reports its error, and closes the connection after;
 * the connection counts as done when that task ends (conn_done). Until its
 * descriptor is closed as well, it stays on the server's list of open
 * connections, which close_clients and abort_clients walk.
 *
 * Running out of descriptors (EMFILE, ENFILE) or memory while accepting
 * stops every listener's watcher and starts a timer; when it fires the
 * watchers come back. The pending connections wait in the kernel's backlog
 * meanwhile, and nothing spins on a listening socket that stays readable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lua/io/io.h"
#include "lua/runtime/site.h"

#define MT_SERVER "asyncio.Server"
#define MT_SERVEROP "asyncio.Server operation"

/* Most listening sockets of one server. */
#define MAX_LISTENERS 16
/* Most connections accepted per readiness event of one listener, so one busy
 * listener cannot starve the rest of the loop: the batch starts at
 * ACCEPT_BATCH_MIN and doubles, up to ACCEPT_BATCH_MAX, each time a batch
 * ends with connections still waiting (a crowd is connecting); it shrinks
 * back once the backlog is emptied. */
#define ACCEPT_BATCH_MIN 64
#define ACCEPT_BATCH_MAX 4096
/* The listen backlog when start_server is not given one: Node's, as a
 * backlog of 100 (Python's) drops the handshakes of a crowd of clients,
 * which then wait a second or more to retry. */
#define DEFAULT_BACKLOG 511

/* Uservalues of a server. */
enum { SVUV_LOOP = 1, SVUV_HANDLER, SVUV_DISPATCH, SVUV_SOCKETS, SVUV_CLOSEDOP, SVUV_FOREVEROP, SVUV_N = SVUV_FOREVEROP };

struct lserver;

typedef struct listener {
  ac_io io;              /* watcher of the listening socket */
  int batch;             /* connections this listener accepts per readiness event */
  struct lserver *srv;   /* its server */
  lsock *view;           /* its socket object in server.sockets */
  dev_t dev;             /* Unix socket file made by bind, to remove at close */
  ino_t ino;
  char *path;            /* that file's path (malloc'd), or NULL */
} listener;

typedef struct lserver {
  lloop *lp;                      /* loop it serves in */
  listener ls[MAX_LISTENERS];     /* listening sockets */
  int n;                          /* listeners in use */
  ac_timer retry;                 /* end of an accept back-off */
  ac_list closers;                /* tasks parked in wait_closed */
  ac_list forever;                /* the task parked in serve_forever */
  ac_list conns;                  /* open connections (lconn.link), in accept order */
  alua__resource res;             /* on the loop's list of open resources until closed */
  int anchor;                     /* ref in the loop while serving, or LUA_NOREF */
  int active;                     /* connections whose handler has not finished */
  alua__stream_opts o;             /* options of accepted streams */
  double retry_delay;             /* seconds of an accept back-off */
  alua__keep keep;                /* keeps the program running while serving */
  uint8_t serving;                /* watchers registered (or backing off) */
  uint8_t backing_off;            /* out of descriptors: waiting for `retry` */
  uint8_t closed;                 /* close() was called */
} lserver;

/* Kinds of the server's operations (alua__op, acting on the server). */
enum { OP_WAIT_CLOSED, OP_SERVE_FOREVER };

static lserver *checkserver(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_SERVER); }

/* -- serving ---------------------------------------------------------------------- */

/* A connection being served. Its handler task may end without running a
 * line of the dispatcher (cancelled before its first step, out of memory
 * at its start), so the connection is closed and counted done here, when
 * the task ends however it ends. The record stays anchored, its uservalues
 * (the writer, the server) with it, until both the task has ended and the
 * stream has closed its descriptor: the stream may still be sending what
 * the handler queued, and abort_clients can still reach it. */
typedef struct lconn {
  ac_callback done; /* on the handler task's waiters, then on the ready queue */
  ac_list link;     /* in srv->conns until the descriptor is closed */
  lserver *srv;     /* its server (uservalue 2) */
  int ref;          /* this record, in the loop's anchors until released */
  uint8_t task_done, closed, released;
} lconn;

enum { CONNUV_WRITER = 1, CONNUV_SERVER, CONNUV_N = CONNUV_SERVER };

/* Drops the loop's hold on c once its task has ended and its descriptor
 * is closed. */
static void conn_release(lua_State *L, lconn *c) {
  if (c->released || !c->task_done || !c->closed || !L) return;
  c->released = 1;
  alua__unanchor(L, c->srv->lp, c->ref);
}

/* The stream's close hook: its descriptor is closed. */
static void conn_closed(lua_State *L, void *arg) {
  lconn *c = arg;
  ac_list_remove(&c->link);
  c->closed = 1;
  conn_release(L, c);
}

static void conn_done(ac_callback *cb) {
  lconn *c = ac_container_of(cb, lconn, done);
  lserver *srv = c->srv;
  lua_State *L = srv->lp->L;
  int top = lua_gettop(L);
  alua__push_anchored(L, srv->lp, c->ref);
  lua_getiuservalue(L, -1, CONNUV_WRITER);
  lua_getiuservalue(L, -2, CONNUV_SERVER); /* srv stays alive below */
  c->task_done = 1;
  conn_release(L, c);
  if (srv->active > 0) srv->active--;
  if (srv->closed && srv->active == 0) alua__wake_all(&srv->closers);
  /* last: closing a TLS stream may run out of memory */
  alua__stream_close(L, top + 2);
  lua_settop(L, top);
}

/* What on_accept learns when connection_p fails half way. */
typedef struct accepting {
  int owned; /* a stream owns the descriptor */
  int ref;   /* the connection record's anchor, or LUA_NOREF */
} accepting;

/* Protected: stream and handler task for the accepted descriptor. Light
 * userdata at 1: the server; at 2: the accepting record; fd at 3. */
static int connection_p(lua_State *L) {
  lserver *srv = lua_touserdata(L, 1);
  accepting *a = lua_touserdata(L, 2);
  int fd = (int)lua_tointeger(L, 3);
  lloop *lp = srv->lp;
  luaL_checkstack(L, 8, NULL);
  alua__push_anchored(L, lp, srv->anchor);
  int sidx = lua_gettop(L);
  lua_getiuservalue(L, sidx, SVUV_DISPATCH);
  int fn = lua_gettop(L);
  lua_pushvalue(L, sidx);
  lua_getiuservalue(L, sidx, SVUV_HANDLER);
  a->owned = 1;
  alua__stream_new(L, lp, fd, STREAM_READ | STREAM_WRITE | STREAM_SOCKET, &srv->o, 0);
  lconn *c = lua_newuserdatauv(L, sizeof *c, CONNUV_N);
  memset(c, 0, sizeof *c);
  ac_callback_init(&c->done, conn_done);
  ac_list_init(&c->link);
  c->srv = srv;
  lua_pushvalue(L, -2);
  lua_setiuservalue(L, -2, CONNUV_WRITER);
  lua_pushvalue(L, sidx);
  lua_setiuservalue(L, -2, CONNUV_SERVER);
  c->ref = a->ref = alua__anchor(L, lp, -1);
  lua_pop(L, 1);
  task *t = alua__newtask(L, lp, fn, 4);
  ac_list_push_back(&t->f.waiters, &c->done.link);
  a->ref = LUA_NOREF;
  srv->active++;
  alua__push_anchored(L, lp, c->ref);
  lua_getiuservalue(L, -1, CONNUV_WRITER);
  alua__stream_on_close(L, -1, conn_closed, c);
  ac_list_push_back(&srv->conns, &c->link);
  return 0;
}

static void back_off(lserver *srv);

/* Poll phase: accepts what is waiting, up to the listener's batch. */
static void on_accept(ac_io *io, uint32_t revents) {
  listener *l = ac_container_of(io, listener, io);
  lserver *srv = l->srv;
  lua_State *L = srv->lp->L;
  for (int i = 0; srv->serving && !srv->backing_off; i++) {
    if (i == l->batch) {
      /* more are waiting: take more next time */
      if (l->batch < ACCEPT_BATCH_MAX) l->batch *= 2;
      return;
    }
    int fd = ac_sock_accept(io->fd, NULL);
    if (fd == -EAGAIN) {
      if (i < l->batch / 2 && l->batch > ACCEPT_BATCH_MIN) l->batch /= 2;
      return;
    }
    if (fd < 0) {
      /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything persistent: pause, never spin */
      back_off(srv);
      return;
    }
    int top = lua_gettop(L);
    accepting a = {0, LUA_NOREF};
    lua_pushcfunction(L, connection_p);
    lua_pushlightuserdata(L, srv);
    lua_pushlightuserdata(L, &a);
    lua_pushinteger(L, fd);
    if (alua__pcall_traced(L, 3, 0) != LUA_OK) {
      /* out of memory half way: a stream that owns fd is garbage now, and
       * its peer must see the connection end at once, not whenever the
       * collector comes by */
      alua__unanchor(L, srv->lp, a.ref);
      if (!a.owned) close(fd);
      else lua_gc(L, LUA_GCCOLLECT);
      lua_pushvalue(L, -2);
      alua__report(L, srv->lp, "cannot start a connection handler", -2);
    }
    lua_settop(L, top);
  }
}

static void start_watchers(lserver *srv) {
  for (int i = 0; i < srv->n; i++) {
    int rc = ac_io_start(&srv->lp->core, &srv->ls[i].io, EPOLLIN);
    if (rc < 0) {
      back_off(srv);
      return;
    }
  }
}

static void stop_watchers(lserver *srv) {
  if (srv->lp->closed) return;
  for (int i = 0; i < srv->n; i++) ac_io_stop(&srv->lp->core, &srv->ls[i].io);
}

static void on_retry(ac_timer *t) {
  lserver *srv = ac_container_of(t, lserver, retry);
  srv->backing_off = 0;
  if (srv->serving && !srv->closed) start_watchers(srv);
}

/* Stops accepting for retry_delay seconds. */
static void back_off(lserver *srv) {
  srv->backing_off = 1;
  stop_watchers(srv);
  ac_loop *core = &srv->lp->core;
  uint64_t now = ac_loop_update_time(core);
  ac_loop_timer_start(core, &srv->retry, now + (uint64_t)(srv->retry_delay * 1e9));
}

/* Starts serving (the server is at idx). */
static void start(lua_State *L, lserver *srv, int idx) {
  if (srv->serving || srv->closed) return;
  srv->serving = 1;
  srv->anchor = alua__anchor(L, srv->lp, idx);
  alua__keepalive(srv->lp, &srv->keep, 1);
  start_watchers(srv);
}

/* Closes the listening sockets (and removes the Unix socket files bind
 * made), wakes serve_forever, and wait_closed once no handler runs. */
static void server_close(lua_State *L, lserver *srv) {
  if (srv->closed) return;
  srv->closed = 1;
  srv->serving = 0;
  alua__keepalive(srv->lp, &srv->keep, 0);
  stop_watchers(srv);
  if (!srv->lp->closed) ac_loop_timer_stop(&srv->lp->core, &srv->retry);
  for (int i = 0; i < srv->n; i++) {
    listener *l = &srv->ls[i];
    if (l->io.fd >= 0) close(l->io.fd);
    l->io.fd = -1;
    if (l->view) l->view->fd = -1;
    struct stat st;
    if (l->path && stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino) unlink(l->path);
    free(l->path);
    l->path = NULL;
  }
  alua__resource_close(&srv->res);
  alua__wake_all(&srv->forever);
  if (srv->active == 0) alua__wake_all(&srv->closers);
  if (srv->anchor != LUA_NOREF && L) {
    alua__unanchor(L, srv->lp, srv->anchor);
    srv->anchor = LUA_NOREF;
  }
}

static int sv_gc(lua_State *L) {
  lserver *srv = alua__gc_self(L);
  srv->anchor = LUA_NOREF; /* collected: the anchor is gone already */
  server_close(NULL, srv);
  return 0;
}

/* -- creating --------------------------------------------------------------------- */

/* Removes a stale Unix socket file at path: a socket file nobody listens on
 * (a connection attempt is refused at once). A live one, or anything else
 * there, is left for bind to report. */
static void remove_stale(const ac_addr *a, const char *path) {
  struct stat st;
  if (!path[0] || stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  int fd = ac_socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return;
  if (ac_sock_connect(fd, a) == -ECONNREFUSED) unlink(path);
  close(fd);
}

/* Opens one listener for the spec table at idx: {family=, host=, port=} or
 * {path=} or {sock=}. */
static void add_listener(lua_State *L, lserver *srv, int sidx, int idx, int backlog, int flags) {
  if (srv->n >= MAX_LISTENERS) alua__user_error(L, "start_server: more than %d addresses", MAX_LISTENERS);
  int fd, family;
  ac_addr a;
  char *path = NULL;
  if (lua_getfield(L, idx, "sock") != LUA_TNIL) {
    lsock *s = alua__checksocket(L, -1);
    if (s->fd < 0 || s->borrowed) alua__user_error(L, "start_server: the socket is closed or belongs to a stream");
    if (s->type != SOCK_STREAM) alua__user_error(L, "start_server: a stream socket is needed");
    if (s->lp && !s->lp->closed) ac_io_stop(&s->lp->core, &s->io);
    fd = s->fd;
    family = s->family;
    s->fd = -1;
    if (listen(fd, backlog) < 0) {
      int err = errno;
      close(fd);
      alua__oserror(L, err, "start_server: listen");
    }
  } else {
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "path") == LUA_TSTRING) {
      family = AF_UNIX;
      lua_pushnil(L);
      lua_insert(L, -2); /* check_sockaddr reads idx and idx + 1 */
      alua__check_sockaddr(L, AF_UNIX, lua_gettop(L), &a, "start_unix_server");
      const char *p = lua_tostring(L, -1);
      if (p[0] != '@') {
        remove_stale(&a, p);
        path = strdup(p);
        if (!path) luaL_error(L, "not enough memory");
      }
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
      lua_getfield(L, idx, "family");
      family = alua__checkfamily(L, -1, AF_INET, "start_server");
      lua_getfield(L, idx, "host");
      lua_getfield(L, idx, "port");
      alua__check_sockaddr(L, family, lua_gettop(L) - 1, &a, "start_server");
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
    fd = ac_sock_listen(&a, backlog, flags | (family == AF_INET6 ? AC_SOCK_V6ONLY : 0));
    if (fd < 0) {
      free(path);
      alua__oserror(L, -fd, "%s: cannot listen on %s", family == AF_UNIX ? "start_unix_server" : "start_server",
                    alua__push_addrtext(L, (struct sockaddr *)&a.ss, a.len));
    }
  }
  listener *l = &srv->ls[srv->n++];
  ac_io_init(&l->io, fd, on_accept);
  l->batch = ACCEPT_BATCH_MIN;
  l->srv = srv;
  l->path = path;
  struct stat st;
  if (path && stat(path, &st) == 0) {
    l->dev = st.st_dev;
    l->ino = st.st_ino;
  }
  lua_getiuservalue(L, sidx, SVUV_SOCKETS);
  l->view = alua__newsocket(L, fd, family, SOCK_STREAM, sidx);
  lua_rawseti(L, -2, srv->n);
  lua_pop(L, 1);
}

/* Protected part of server_new: everything that may raise, on the server
 * at 1 (specs at 2, opts at 3). */
static int open_listeners(lua_State *L) {
  lserver *srv = lua_touserdata(L, 1);
  int backlog = DEFAULT_BACKLOG, flags = AC_SOCK_REUSEADDR;
  if (lua_istable(L, 3)) {
    if (lua_getfield(L, 3, "backlog") != LUA_TNIL) {
      if (!lua_isinteger(L, -1)) alua__user_error(L, "bad option 'backlog' to 'start_server' (integer expected)");
      lua_Integer b = lua_tointeger(L, -1);
      if (b < 0 || b > 65535) alua__user_error(L, "bad option 'backlog' to 'start_server' (0-65535 expected)");
      backlog = (int)b;
    }
    if (lua_getfield(L, 3, "reuse_address") != LUA_TNIL && !lua_toboolean(L, -1)) flags &= ~AC_SOCK_REUSEADDR;
    if (lua_getfield(L, 3, "reuse_port") != LUA_TNIL && lua_toboolean(L, -1)) flags |= AC_SOCK_REUSEPORT;
    if (lua_getfield(L, 3, "accept_retry_delay") != LUA_TNIL) {
      lua_Number d = lua_tonumber(L, -1);
      if (!(d > 0 && d < 3600)) alua__user_error(L, "bad option 'accept_retry_delay' to 'start_server' (0 < delay < 3600)");
      srv->retry_delay = d;
    }
    lua_settop(L, 3);
  }
  lua_Integer n = luaL_len(L, 2);
  if (n == 0) alua__user_error(L, "start_server: no address to listen on");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 2, i);
    add_listener(L, srv, 1, lua_gettop(L), backlog, flags);
    lua_pop(L, 1);
  }
  return 0;
}

/* internals.server_new(handler, dispatch, specs, opts): a new server
 * listening on every spec; serving unless opts.start_serving == false. */
static int l_server_new(lua_State *L) {
  rt *r = alua__rt(L);
  luaL_checkany(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 4);
  alua__stream_opts o;
  alua__stream_opts_check(L, 4, &o, "start_server");
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  lserver *srv = lua_newuserdatauv(L, sizeof *srv, SVUV_N);
  int sidx = lua_gettop(L);
  memset(srv, 0, sizeof *srv);
  srv->lp = lp;
  srv->anchor = LUA_NOREF;
  srv->o = o;
  srv->retry_delay = 0.1;
  ac_timer_init(&srv->retry, on_retry);
  ac_list_init(&srv->closers);
  ac_list_init(&srv->forever);
  ac_list_init(&srv->conns);
  alua__resource_open(lp, &srv->res, "server", &srv->ls[0].io.fd);
  luaL_setmetatable(L, MT_SERVER);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, sidx, SVUV_LOOP);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, sidx, SVUV_HANDLER);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, sidx, SVUV_DISPATCH);
  lua_newtable(L);
  lua_setiuservalue(L, sidx, SVUV_SOCKETS);
  lua_pushcfunction(L, open_listeners);
  lua_pushvalue(L, sidx);
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 4);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    server_close(L, srv); /* listeners opened before the failure */
    return lua_error(L);
  }
  int serve = 1;
  if (lua_istable(L, 4) && lua_getfield(L, 4, "start_serving") != LUA_TNIL) serve = lua_toboolean(L, -1);
  lua_settop(L, sidx);
  if (serve) start(L, srv, sidx);
  return 1;
}

/* -- methods ------------------------------------------------------------------------ */

/* server:close(): stops listening; connections being handled go on. */
static int sv_close(lua_State *L) {
  server_close(L, checkserver(L, 1));
  return 0;
}

static int sv_is_serving(lua_State *L) {
  lserver *srv = checkserver(L, 1);
  lua_pushboolean(L, srv->serving && !srv->closed);
  return 1;
}

/* server:start_serving(): starts accepting (servers made with
 * start_serving = false). */
static int sv_start_serving(lua_State *L) {
  lserver *srv = checkserver(L, 1);
  if (srv->closed) return alua__user_error(L, "start_serving: the server is closed");
  start(L, srv, 1);
  return 0;
}

/* server:unref(): the program may end while the server still serves (as
 * Node's server.unref()); server:ref() undoes it. Both return the server. */
static int sv_unref(lua_State *L) {
  lserver *srv = checkserver(L, 1);
  return alua__keep_ref(L, srv->lp, &srv->keep, srv->serving && !srv->closed, 0);
}

static int sv_ref(lua_State *L) {
  lserver *srv = checkserver(L, 1);
  return alua__keep_ref(L, srv->lp, &srv->keep, srv->serving && !srv->closed, 1);
}

static int sv_get_loop(lua_State *L) {
  lua_getiuservalue(L, 1, SVUV_LOOP);
  checkserver(L, 1);
  return 1;
}

/* Closes, or aborts, the stream of every connection still open, in the
 * order they were accepted. Closing one only queues work (tasks to wake),
 * but its hook takes it off the list: the next one is read first. */
static void clients_close(lua_State *L, int abort) {
  lserver *srv = checkserver(L, 1);
  luaL_checkstack(L, 4, NULL);
  for (ac_list *p = srv->conns.next, *next; p != &srv->conns; p = next) {
    next = p->next;
    lconn *c = ac_container_of(p, lconn, link);
    alua__push_anchored(L, srv->lp, c->ref);
    lua_getiuservalue(L, -1, CONNUV_WRITER);
    if (abort) alua__stream_abort(L, -1);
    else alua__stream_close(L, -1);
    lua_pop(L, 2);
  }
}

/* server:close_clients(): closes every open connection (what is queued is
 * sent first); server:abort_clients(): aborts them (what is queued is
 * dropped). Neither stops listening. */
static int sv_close_clients(lua_State *L) {
  clients_close(L, 0);
  return 0;
}

static int sv_abort_clients(lua_State *L) {
  clients_close(L, 1);
  return 0;
}

/* server:active_connections(): handlers still running. */
static int sv_active(lua_State *L) { return alua__retint(L, checkserver(L, 1)->active); }

/* A cancelled serve_forever closes the server, as in asyncio. */
static void op_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  if (ctx == OP_SERVE_FOREVER) server_close(L, on);
}

static const alua__waitclass wait_closed = {
    .what = "Server wait_closed", .slot = 2, .never = ", which nothing will ever close"};
static const alua__waitclass wait_forever = {.what = "Server serve_forever", .cancelled = op_cancelled, .slot = 2};

static int k_op(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  lserver *srv = lua_touserdata(L, 2);
  if (ctx == OP_WAIT_CLOSED && !(srv->closed && srv->active == 0))
    return alua__park(L, t, &srv->closers, &wait_closed, srv, ctx, k_op);
  return 0;
}

/* The await hook of wait_closed and serve_forever: stack [op]. */
static int op_await(lua_State *L) {
  alua__op *o = lua_touserdata(L, 1);
  alua__awop_taken(&o->awop);
  task *t = alua__current_task(L, alua__rt(L));
  lserver *srv = o->on;
  lua_getiuservalue(L, 1, 1);
  if (o->kind == OP_WAIT_CLOSED) {
    if (srv->closed && srv->active == 0) return 0;
    return alua__park(L, t, &srv->closers, &wait_closed, srv, OP_WAIT_CLOSED, k_op);
  }
  if (srv->closed) return alua__user_error(L, "serve_forever: the server is closed");
  if (!ac_list_empty(&srv->forever)) return alua__user_error(L, "serve_forever: another task is already serving forever");
  start(L, srv, 2);
  return alua__park(L, t, &srv->forever, &wait_forever, srv, OP_SERVE_FOREVER, k_op);
}

/* server:wait_closed(): returns once the server is closed and every
 * connection handler has finished. */
static int sv_wait_closed(lua_State *L) {
  checkserver(L, 1);
  return alua__push_op(L, 1, SVUV_CLOSEDOP, 0, OP_WAIT_CLOSED, MT_SERVEROP, "server:wait_closed()");
}

/* server:serve_forever(): serves until the server is closed; cancelling it
 * closes the server. */
static int sv_serve_forever(lua_State *L) {
  checkserver(L, 1);
  return alua__push_op(L, 1, SVUV_FOREVEROP, 0, OP_SERVE_FOREVER, MT_SERVEROP, "server:serve_forever()");
}

/* <Server sockets=127.0.0.1:4000 serving> */
static int sv_tostring(lua_State *L) {
  lserver *srv = checkserver(L, 1);
  luaL_Buffer b;
  alua__repr_begin(L, &b, "Server");
  if (srv->closed) {
    luaL_addstring(&b, " closed");
  } else {
    for (int i = 0; i < srv->n; i++) alua__add_sockname(&b, i ? "," : " sockets=", srv->ls[i].io.fd, 0);
    luaL_addstring(&b, srv->serving ? " serving" : " not serving");
  }
  return alua__repr_end(&b);
}

/* __index: server.sockets (the list of listening socket objects; empty once
 * closed), then the methods (upvalue 2). */
static int sv_index(lua_State *L) {
  lserver *srv = checkserver(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "sockets") == 0) {
    if (srv->closed) lua_newtable(L);
    else lua_getiuservalue(L, 1, SVUV_SOCKETS);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(2));
  return 1;
}

void alua__open_server(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"close", sv_close},
                                     {"close_clients", sv_close_clients},
                                     {"abort_clients", sv_abort_clients},
                                     {"wait_closed", sv_wait_closed},
                                     {"serve_forever", sv_serve_forever},
                                     {"start_serving", sv_start_serving},
                                     {"is_serving", sv_is_serving},
                                     {"get_loop", sv_get_loop},
                                     {"active_connections", sv_active},
                                     {"ref", sv_ref},
                                     {"unref", sv_unref},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__tostring", sv_tostring}, {"__gc", sv_gc}, {"__close", sv_close}, {NULL, NULL}};
  alua__newclass(L, r, MT_SERVER, meta);
  lua_newtable(L);
  alua__setfuncs(L, r, methods);
  lua_pushlightuserdata(L, r);
  lua_insert(L, -2);
  lua_pushcclosure(L, sv_index, 2);
  lua_setfield(L, -2, "__index");
  lua_setfield(L, internals, "Server");
  static const char *const ops[] = {"wait_closed", "serve_forever"};
  alua__newopclass(L, r, MT_SERVEROP, op_await, "server:", ops);
  static const luaL_Reg funcs[] = {
      {"server_new", l_server_new}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}

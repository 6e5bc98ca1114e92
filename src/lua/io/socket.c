/* Socket objects and the low-level loop:sock_* operations.
 *
 *   local s = asyncio.socket("inet", "stream")
 *   await loop:sock_connect(s, "127.0.0.1", port)
 *   await loop:sock_sendall(s, "ping")
 *   local data = await loop:sock_recv(s, 100)
 *
 * A socket is non-blocking and close-on-exec from birth. Each sock_*
 * operation tries its system call first; only when that would block does
 * the task park on the socket's readers or writers list, with the socket's
 * watcher interested in exactly what the parked tasks need. The watcher
 * wakes every parked task of the ready direction and each retries; when
 * nobody waits the watcher is unregistered, so an idle socket costs the
 * loop nothing and never keeps it from detecting a deadlock. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lua/io/io.h"
#include "lua/runtime/site.h"

#define MT_SOCKOP "asyncio.socket operation"

/* Uservalues of a socket. */
enum { SUV_LOOP = 1, SUV_OWNER, SUV_N = SUV_OWNER };

/* -- the socket type -------------------------------------------------------- */

lsock *alua__tosocket(lua_State *L, int idx) { return luaL_testudata(L, idx, MT_SOCKET); }

lsock *alua__checksocket(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_SOCKET); }

/* The socket at idx, which must be open. */
static lsock *checkopen(lua_State *L, int idx, const char *fname) {
  lsock *s = alua__checksocket(L, idx);
  if (s->fd < 0) alua__user_error(L, "%s: the socket is closed", fname);
  return s;
}

static void on_ready(ac_io *io, uint32_t revents);

lsock *alua__newsocket(lua_State *L, int fd, int family, int type, int owneridx) {
  owneridx = owneridx ? lua_absindex(L, owneridx) : 0;
  lsock *s = lua_newuserdatauv(L, sizeof *s, SUV_N);
  s->fd = fd;
  s->family = family;
  s->type = type;
  s->borrowed = owneridx != 0;
  s->lp = NULL;
  ac_io_init(&s->io, fd, on_ready);
  ac_list_init(&s->readers);
  ac_list_init(&s->writers);
  luaL_setmetatable(L, MT_SOCKET);
  if (owneridx) {
    lua_pushvalue(L, owneridx);
    lua_setiuservalue(L, -2, SUV_OWNER);
  }
  return s;
}

/* Registers the interest the parked tasks need (none: unregistered). */
static int watch(lsock *s, uint32_t also) {
  if (!s->lp || s->lp->closed) return 0;
  uint32_t ev = also | (ac_list_empty(&s->readers) ? 0 : EPOLLIN) | (ac_list_empty(&s->writers) ? 0 : EPOLLOUT);
  return ac_io_start(&s->lp->core, &s->io, ev);
}

/* Poll phase: every task parked for the ready direction retries. An error
 * or hang-up wakes both sides, whose system calls then report it. */
static void on_ready(ac_io *io, uint32_t revents) {
  lsock *s = ac_container_of(io, lsock, io);
  if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) alua__wake_all(&s->readers);
  if (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)) alua__wake_all(&s->writers);
  watch(s, 0);
}

/* Stops watching and closes the descriptor (not a borrowed one). */
static void sock_close(lsock *s) {
  if (s->fd < 0) return;
  if (s->lp && !s->lp->closed) ac_io_stop(&s->lp->core, &s->io);
  if (!s->borrowed) close(s->fd);
  s->fd = -1;
  /* parked tasks retry and find the socket closed */
  alua__wake_all(&s->readers);
  alua__wake_all(&s->writers);
}

/* asyncio.socket([family [, type]]): a new non-blocking socket; family
 * "inet" (default), "inet6" or "unix", type "stream" (default) or "dgram". */
static int l_socket(lua_State *L) {
  int family = alua__checkfamily(L, 1, AF_INET, "socket");
  static const char *const types[] = {"stream", "dgram", NULL};
  int type = luaL_checkoption(L, 2, "stream", types) == 0 ? SOCK_STREAM : SOCK_DGRAM;
  int fd = ac_socket(family, type, 0);
  if (fd < 0) return alua__oserror(L, -fd, "socket");
  alua__newsocket(L, fd, family, type, 0);
  return 1;
}

static int s_fileno(lua_State *L) { return alua__retint(L, alua__checksocket(L, 1)->fd); }

/* sock:close(): closes the socket (a no-op when closed). A borrowed socket
 * belongs to a stream or a server: close that instead. */
static int s_close(lua_State *L) {
  lsock *s = alua__checksocket(L, 1);
  if (s->borrowed && s->fd >= 0)
    return alua__user_error(L, "close: this socket belongs to a stream or server; close the writer or the server instead");
  sock_close(s);
  return 0;
}

static int s_gc(lua_State *L) {
  lsock *s = alua__gc_self(L);
  if (s->fd >= 0 && !s->borrowed) {
    if (s->lp && !s->lp->closed) ac_io_stop(&s->lp->core, &s->io);
    close(s->fd);
  }
  s->fd = -1;
  return 0;
}

/* sock:bind(host, port) or sock:bind(path): numeric addresses only. */
static int s_bind(lua_State *L) {
  lsock *s = checkopen(L, 1, "bind");
  ac_addr a;
  alua__check_sockaddr(L, s->family, 2, &a, "bind");
  if (s->family != AF_UNIX) {
    int on = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  }
  if (bind(s->fd, (struct sockaddr *)&a.ss, a.len) < 0) return alua__oserror(L, errno, "bind");
  return 0;
}

/* sock:listen([backlog]) */
static int s_listen(lua_State *L) {
  lsock *s = checkopen(L, 1, "listen");
  lua_Integer backlog = luaL_optinteger(L, 2, 128);
  if (backlog < 0 || backlog > 65535) return luaL_argerror(L, 2, "backlog must be 0-65535");
  if (listen(s->fd, (int)backlog) < 0) return alua__oserror(L, errno, "listen");
  return 0;
}

/* sock:getsockname() / sock:getpeername(): host, port (or path, nil). */
static int s_getsockname(lua_State *L) {
  return alua__push_sockname(L, checkopen(L, 1, "getsockname")->fd, 0, "getsockname");
}

static int s_getpeername(lua_State *L) {
  return alua__push_sockname(L, checkopen(L, 1, "getpeername")->fd, 1, "getpeername");
}

/* sock:shutdown(how): "r", "w" or "rw". */
static int s_shutdown(lua_State *L) {
  lsock *s = checkopen(L, 1, "shutdown");
  static const char *const hows[] = {"r", "w", "rw", NULL};
  static const int values[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  int how = values[luaL_checkoption(L, 2, "rw", hows)];
  if (shutdown(s->fd, how) < 0) return alua__oserror(L, errno, "shutdown");
  return 0;
}

static int s_family(lua_State *L) { return alua__retstr(L, alua__family_name(alua__checksocket(L, 1)->family)); }

/* <socket fd=5 inet stream 127.0.0.1:4000> */
static int s_tostring(lua_State *L) {
  lsock *s = alua__checksocket(L, 1);
  luaL_Buffer b;
  if (s->fd < 0) {
    alua__repr_begin(L, &b, "socket closed");
    return alua__repr_end(&b);
  }
  alua__repr_begin(L, &b, "socket fd=%d %s %s", s->fd, alua__family_name(s->family),
                   s->type == SOCK_STREAM ? "stream" : "dgram");
  alua__add_sockname(&b, " ", s->fd, 0);
  return alua__repr_end(&b);
}

/* -- loop:sock_* operations ---------------------------------------------- */

enum { OP_RECV, OP_SENDALL, OP_ACCEPT, OP_CONNECT };
static const char *const op_names[] = {"sock_recv", "sock_sendall", "sock_accept", "sock_connect"};

/* An operation: uservalue 1 the socket, 2 the data of sendall. */
typedef struct sockop {
  alua__awop awop;   /* handed out and not awaited yet (first: see ops.c) */
  uint8_t kind;      /* OP_* */
  uint8_t awaited;   /* an await has taken it */
  uint8_t started;   /* connect: the connect call was made */
  lua_Integer n;     /* recv: most bytes to return */
  size_t sent;       /* sendall: bytes sent so far */
  ac_addr addr;      /* connect: where to */
} sockop;

static int k_op(lua_State *L, int status, lua_KContext ctx);

/* A cancelled task has left the list already: only the interest changes. */
static void op_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) { watch(on, 0); }

/* "socket read <socket fd=5 ...> peer=127.0.0.1:4000" (reports) */
static void describe_op(lua_State *L, task *t, void *on, int obj, int rec) {
  (void)rec;
  lsock *s = on;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, t->wait->what);
  if (obj) {
    luaL_addchar(&b, ' ');
    luaL_tolstring(L, obj, NULL);
    luaL_addvalue(&b);
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (s->fd >= 0 && getpeername(s->fd, (struct sockaddr *)&ss, &len) == 0) {
    luaL_addstring(&b, " peer=");
    alua__add_sockaddr(&b, (struct sockaddr *)&ss, len);
  }
  luaL_pushresult(&b);
}

static const alua__waitclass wait_sock_read = {
    .what = "socket read", .cancelled = op_cancelled, .slot = 2, .describe = describe_op};
static const alua__waitclass wait_sock_write = {
    .what = "socket write", .cancelled = op_cancelled, .slot = 2, .describe = describe_op};

/* Parks the current task on the socket's list for the direction the
 * operation needs and registers the interest. Stack: [op, socket]. */
static int park(lua_State *L, task *t, lsock *s, sockop *o) {
  lloop *lp = t->f.loop;
  if (!s->lp) {
    s->lp = lp;
    alua__pushloop(L, lp);
    lua_setiuservalue(L, 2, SUV_LOOP);
  } else if (s->lp != lp) {
    return alua__user_error(L, "%s: the socket is used by another event loop", op_names[o->kind]);
  }
  int rd = o->kind == OP_RECV || o->kind == OP_ACCEPT;
  int rc = watch(s, rd ? EPOLLIN : EPOLLOUT);
  if (rc < 0) return alua__oserror(L, -rc, "%s: cannot watch the socket", op_names[o->kind]);
  return alua__park(L, t, rd ? &s->readers : &s->writers, rd ? &wait_sock_read : &wait_sock_write, s, 0, k_op);
}

/* Tries the operation at stack [op, socket]: returns its results, raises,
 * or parks. */
static int attempt(lua_State *L, task *t) {
  sockop *o = lua_touserdata(L, 1);
  lsock *s = lua_touserdata(L, 2);
  const char *name = op_names[o->kind];
  if (s->fd < 0) return alua__user_error(L, "%s: the socket is closed", name);
  switch (o->kind) {
  case OP_RECV: {
    /* at most 256 KiB per call: a huge n must not allocate a huge buffer */
    size_t want = o->n < (1 << 18) ? (size_t)o->n : (1 << 18);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, want);
    ssize_t r;
    do r = recv(s->fd, p, want, 0);
    while (r < 0 && errno == EINTR);
    if (r >= 0) {
      luaL_pushresultsize(&b, (size_t)r);
      return 1;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return alua__oserror(L, errno, "%s", name);
    /* Why closeslot first: a big buffer is a to-be-closed box, and Lua
     * 5.4.4's lua_settop uses a stale stack pointer when closing it makes
     * the stack move. */
    if (p != b.init.b) lua_closeslot(L, -1);
    lua_settop(L, 2);
    return park(L, t, s, o);
  }
  case OP_SENDALL: {
    size_t len;
    lua_getiuservalue(L, 1, 2);
    const char *p = lua_tolstring(L, -1, &len);
    lua_pop(L, 1);
    while (o->sent < len) {
      ssize_t r = send(s->fd, p + o->sent, len - o->sent, MSG_NOSIGNAL);
      if (r >= 0) {
        o->sent += (size_t)r;
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return alua__oserror(L, errno, "%s", name);
      return park(L, t, s, o);
    }
    return 0;
  }
  case OP_ACCEPT: {
    ac_addr peer;
    int fd = ac_sock_accept(s->fd, &peer);
    if (fd == -EAGAIN) return park(L, t, s, o);
    if (fd < 0) return alua__oserror(L, -fd, "%s", name);
    alua__newsocket(L, fd, s->family, s->type, 0);
    alua__push_sockaddr(L, (struct sockaddr *)&peer.ss, peer.len);
    return 3;
  }
  default: { /* OP_CONNECT */
    int rc;
    if (!o->started) {
      o->started = 1;
      rc = ac_sock_connect(s->fd, &o->addr);
    } else {
      rc = ac_sock_error(s->fd);
      /* woken without a result yet (a spurious wake-up): keep waiting */
      if (rc == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0 && errno == ENOTCONN) rc = -EINPROGRESS;
      }
    }
    if (rc == -EINPROGRESS) return park(L, t, s, o);
    if (rc < 0)
      return alua__oserror(L, -rc, "%s: connect to %s", name,
                           alua__push_addrtext(L, (struct sockaddr *)&o->addr.ss, o->addr.len));
    return 0;
  }
  }
}

static int k_op(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  watch(lua_touserdata(L, 2), 0);
  return attempt(L, t);
}

/* The await hook of the operations: stack [op]. */
static int op_await(lua_State *L) {
  sockop *o = lua_touserdata(L, 1);
  rt *r = alua__rt(L);
  alua__awop_taken(&o->awop);
  task *t = alua__current_task(L, r);
  if (o->awaited) return alua__user_error(L, "%s: this operation was already awaited", op_names[o->kind]);
  o->awaited = 1;
  lua_getiuservalue(L, 1, 1);
  return attempt(L, t);
}

/* Pushes a new operation of `kind` on the socket at 2 (loop at 1). */
static sockop *newop(lua_State *L, int kind) {
  alua__checkopen(L, 1);
  lsock *s = checkopen(L, 2, op_names[kind]);
  if (s->borrowed) alua__user_error(L, "%s: this socket belongs to a stream or server; use its methods", op_names[kind]);
  sockop *o = lua_newuserdatauv(L, sizeof *o, 2);
  memset(o, 0, sizeof *o);
  o->kind = (uint8_t)kind;
  luaL_setmetatable(L, MT_SOCKOP);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  static const char *const names[] = {"loop:sock_recv()", "loop:sock_sendall()", "loop:sock_accept()",
                                      "loop:sock_connect()"};
  alua__awop_init(&o->awop, alua__rt(L));
  alua__aw_handout_fast(L, &o->awop, names[kind]);
  return o;
}

/* loop:sock_recv(sock, n): up to n bytes ("" at end of stream). */
static int l_sock_recv(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 3);
  if (n <= 0 || n > (1 << 30)) return luaL_argerror(L, 3, "size must be 1 to 2^30");
  sockop *o = newop(L, OP_RECV);
  o->n = n;
  return 1;
}

/* loop:sock_sendall(sock, data): sends all of data. */
static int l_sock_sendall(lua_State *L) {
  luaL_checkstring(L, 3);
  newop(L, OP_SENDALL);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 2);
  return 1;
}

/* loop:sock_accept(sock): a new socket, and the peer's host and port. */
static int l_sock_accept(lua_State *L) {
  newop(L, OP_ACCEPT);
  return 1;
}

/* loop:sock_connect(sock, host, port) or (sock, path): numeric addresses. */
static int l_sock_connect(lua_State *L) {
  lsock *s = checkopen(L, 2, "sock_connect");
  ac_addr a;
  alua__check_sockaddr(L, s->family, 3, &a, "sock_connect");
  sockop *o = newop(L, OP_CONNECT);
  o->addr = a;
  return 1;
}

void alua__open_socket(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"fileno", s_fileno},           {"close", s_close},
                                     {"bind", s_bind},               {"listen", s_listen},
                                     {"getsockname", s_getsockname}, {"getpeername", s_getpeername},
                                     {"shutdown", s_shutdown},       {"family", s_family},
                                     {"__tostring", s_tostring},     {"__gc", s_gc},
                                     {"__close", s_close},           {NULL, NULL}};
  alua__newclass(L, r, MT_SOCKET, methods);
  lua_pop(L, 1);
  alua__newopclass(L, r, MT_SOCKOP, op_await, "loop:", op_names);
  static const luaL_Reg loop_methods[] = {{"sock_recv", l_sock_recv},
                                          {"sock_sendall", l_sock_sendall},
                                          {"sock_accept", l_sock_accept},
                                          {"sock_connect", l_sock_connect},
                                          {NULL, NULL}};
  alua__addmethods(L, r, MT_LOOP, loop_methods);
  static const luaL_Reg funcs[] = {{"socket", l_socket}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
  (void)internals;
}

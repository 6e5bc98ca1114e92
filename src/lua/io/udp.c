/* UDP endpoints: asyncio.open_udp(opts) (lib/asyncio/streams.lua resolves
 * names, then calls internals.udp_new).
 *
 *   local ep = await asyncio.open_udp{local_host = "127.0.0.1", local_port = 0}
 *   ep:send("ping", "127.0.0.1", 9999)
 *   local data, host, port = await ep:recv()
 *
 * recv tries recvfrom first and parks only when nothing is queued in the
 * kernel; the watcher is registered for EPOLLIN only while a task waits, and
 * wakes one receiver per event (a datagram is for one reader). send goes
 * out at once; if the socket buffer is full, the datagram waits in a queue
 * flushed on EPOLLOUT, in order, so send never blocks and never reorders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua/io/io.h"

#define MT_UDP "asyncio.DatagramEndpoint"
#define MT_UDPOP "asyncio.DatagramEndpoint operation"

/* Largest datagram recv returns. */
#define MAX_DATAGRAM 65536

enum { UUV_LOOP = 1, UUV_RECV, UUV_VIEW, UUV_N = UUV_VIEW };

typedef struct ludp {
  lloop *lp;          /* loop it belongs to */
  ac_io io;           /* watcher; io.fd -1 once closed */
  alua__resource res; /* on the loop's list of open resources while io.fd is open */
  ac_list receivers;  /* tasks parked in recv */
  ac_buf queue;       /* datagrams waiting for room: [len][addrlen][addr][data]... */
  char *rbuf;         /* MAX_DATAGRAM bytes for recvfrom, malloc'd on first use */
  int family;         /* AF_INET, AF_INET6 or AF_UNIX */
  int anchor;         /* ref while the queue holds datagrams */
  int err;            /* error of a queued send, reported by the next send */
  uint8_t connected;  /* has a default peer (remote address) */
} ludp;

/* Header of a queued datagram. */
typedef struct qhdr {
  uint32_t len;       /* data bytes */
  uint32_t addrlen;   /* address bytes (0: the connected peer) */
} qhdr;

static ludp *checkudp(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_UDP); }

static ludp *checkopen(lua_State *L, int idx, const char *fname) {
  ludp *u = checkudp(L, idx);
  if (u->io.fd < 0) alua__user_error(L, "%s: the endpoint is closed", fname);
  return u;
}

/* Watches for what the endpoint needs: datagrams while a task waits for
 * one (or `also` asks for them: a task is about to park), room while
 * datagrams are queued for sending. 0, or -errno when the kernel refused
 * a new watch (memory): only a call that widens the watch can get that,
 * and it must not then wait for an event that nothing will report. */
static int watch(ludp *u, uint32_t also) {
  if (u->io.fd < 0 || u->lp->closed) return 0;
  uint32_t ev = also | (ac_list_empty(&u->receivers) ? 0 : EPOLLIN) | (ac_buf_len(&u->queue) ? EPOLLOUT : 0);
  return ac_io_start(&u->lp->core, &u->io, ev);
}

/* Sends queued datagrams until the socket is full again. */
static void flush(ludp *u) {
  while (ac_buf_len(&u->queue) >= sizeof(qhdr)) {
    qhdr h;
    memcpy(&h, ac_buf_head(&u->queue), sizeof h);
    const char *addr = ac_buf_head(&u->queue) + sizeof h;
    const char *data = addr + h.addrlen;
    ssize_t r = h.addrlen ? sendto(u->io.fd, data, h.len, MSG_NOSIGNAL, (const struct sockaddr *)addr, h.addrlen)
                          : send(u->io.fd, data, h.len, MSG_NOSIGNAL);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    if (r < 0 && !u->err) u->err = errno; /* dropped; the next send reports it */
    ac_buf_consume(&u->queue, sizeof h + h.addrlen + h.len);
  }
  if (ac_buf_len(&u->queue) == 0) {
    ac_buf_reset(&u->queue, 0);
    if (u->anchor != LUA_NOREF && u->lp->L) {
      alua__unanchor(u->lp->L, u->lp, u->anchor);
      u->anchor = LUA_NOREF;
    }
  }
}

static void on_io(ac_io *io, uint32_t revents) {
  ludp *u = ac_container_of(io, ludp, io);
  if (revents & (EPOLLOUT | EPOLLERR)) flush(u);
  if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) alua__wake_first(&u->receivers);
  watch(u, 0);
}

static void udp_close(ludp *u) {
  if (u->io.fd < 0) return;
  alua__close_io(u->lp, &u->io, &u->res);
  ac_buf_free(&u->queue);
  alua__wake_all(&u->receivers);
}

static int u_gc(lua_State *L) {
  ludp *u = alua__gc_self(L);
  udp_close(u);
  free(u->rbuf);
  u->rbuf = NULL;
  return 0;
}

/* ep:close(): closes at once (queued datagrams are dropped). */
static int u_close(lua_State *L) {
  ludp *u = checkudp(L, 1);
  udp_close(u);
  if (u->anchor != LUA_NOREF) {
    alua__unanchor(L, u->lp, u->anchor);
    u->anchor = LUA_NOREF;
  }
  return 0;
}

static int u_is_closing(lua_State *L) { return alua__retbool(L, checkudp(L, 1)->io.fd < 0); }

/* ep:send(data [, host, port]): sends one datagram to host:port (numeric),
 * or to the remote address the endpoint was opened with. */
static int u_send(lua_State *L) {
  ludp *u = checkopen(L, 1, "send");
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  if (len > MAX_DATAGRAM) return luaL_argerror(L, 2, "datagram larger than 65536 bytes");
  ac_addr a;
  int has_addr = !lua_isnoneornil(L, 3);
  if (has_addr) alua__check_sockaddr(L, u->family, 3, &a, "send");
  else if (!u->connected) return alua__user_error(L, "send: no address given and the endpoint has no remote address");
  if (u->err) {
    int err = u->err;
    u->err = 0;
    return alua__oserror(L, err, "send");
  }
  if (ac_buf_len(&u->queue) == 0) {
    ssize_t r;
    do r = has_addr ? sendto(u->io.fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&a.ss, a.len)
                    : send(u->io.fd, data, len, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return alua__oserror(L, errno, "send");
  }
  qhdr h = {(uint32_t)len, has_addr ? (uint32_t)a.len : 0};
  if (ac_buf_reserve(&u->queue, sizeof h + h.addrlen + len) < 0) return luaL_error(L, "send: not enough memory");
  /* anchored while datagrams wait; what can raise comes before the queueing */
  if (u->anchor == LUA_NOREF) u->anchor = alua__anchor(L, u->lp, 1);
  int first = ac_buf_len(&u->queue) == 0;
  ac_buf_append(&u->queue, &h, sizeof h);
  if (has_addr) ac_buf_append(&u->queue, &a.ss, a.len);
  ac_buf_append(&u->queue, data, len);
  int err = watch(u, 0);
  if (err < 0 && first) {
    /* nothing would ever send it: it is not sent (a queue already there
     * is watched, so only the first datagram queued can come here) */
    ac_buf_reset(&u->queue, 0);
    alua__unanchor(L, u->lp, u->anchor);
    u->anchor = LUA_NOREF;
    return alua__oserror(L, -err, "send");
  }
  return 0;
}

static int k_recv(lua_State *L, int status, lua_KContext ctx);

/* Woken for a datagram this task will not take: the next one may. */
static void recv_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  ludp *u = on;
  if (woken) alua__wake_first(&u->receivers);
  watch(u, 0);
}

static const alua__waitclass wait_recv = {.what = "DatagramEndpoint.recv", .cancelled = recv_cancelled, .slot = 2};

/* recv on the stack [op, endpoint]: data, host, port; or parks. */
static int do_recv(lua_State *L, task *t, ludp *u, int again) {
  if (u->io.fd < 0) return alua__user_error(L, "recv: the endpoint is closed");
  if (!u->rbuf && !(u->rbuf = malloc(MAX_DATAGRAM))) return alua__user_error(L, "recv: not enough memory");
  struct sockaddr_storage ss;
  socklen_t alen = sizeof ss;
  ssize_t r;
  do r = recvfrom(u->io.fd, u->rbuf, MAX_DATAGRAM, 0, (struct sockaddr *)&ss, &alen);
  while (r < 0 && errno == EINTR);
  if (r >= 0) {
    /* more datagrams may be queued for the next receiver */
    if (!ac_list_empty(&u->receivers)) alua__wake_first(&u->receivers);
    watch(u, 0);
    lua_pushlstring(L, u->rbuf, (size_t)r);
    if (alen == 0 || ss.ss_family == AF_UNSPEC) return 1;
    alua__push_sockaddr(L, (struct sockaddr *)&ss, alen);
    return 3;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK) {
    watch(u, 0);
    return alua__oserror(L, errno, "recv");
  }
  if (!again && u->lp != t->f.loop) return alua__user_error(L, "recv: the endpoint belongs to another event loop");
  int err = watch(u, EPOLLIN);
  if (err < 0) return alua__oserror(L, -err, "recv");
  if (again) return alua__repark(L, t, &u->receivers, &wait_recv, u, 0, k_recv);
  return alua__park(L, t, &u->receivers, &wait_recv, u, 0, k_recv);
}

static int k_recv(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  return do_recv(L, t, lua_touserdata(L, 2), 1);
}

static int recv_await(lua_State *L) {
  task *t;
  void *u = alua__op_await_begin(L, &t);
  return do_recv(L, t, u, 0);
}

/* ep:recv(): an awaitable that returns data, host, port of the next
 * datagram. */
static int u_recv(lua_State *L) {
  checkudp(L, 1);
  return alua__push_op(L, 1, UUV_RECV, 0, 0, MT_UDPOP, "endpoint:recv()");
}

static int u_getsockname(lua_State *L) {
  return alua__push_sockname(L, checkopen(L, 1, "getsockname")->io.fd, 0, "getsockname");
}

static int u_getpeername(lua_State *L) {
  return alua__push_sockname(L, checkopen(L, 1, "getpeername")->io.fd, 1, "getpeername");
}

/* ep:get_extra_info("sockname" | "peername" | "socket") */
static int u_get_extra_info(lua_State *L) {
  ludp *u = checkudp(L, 1);
  const char *name = luaL_checkstring(L, 2);
  lua_settop(L, 3);
  if (u->io.fd < 0) return 1;
  if (strcmp(name, "sockname") == 0) return u_getsockname(L);
  if (strcmp(name, "peername") == 0) return u->connected ? u_getpeername(L) : 1;
  if (strcmp(name, "socket") == 0) {
    if (lua_getiuservalue(L, 1, UUV_VIEW) != LUA_TUSERDATA) {
      lua_pop(L, 1);
      alua__newsocket(L, u->io.fd, u->family, SOCK_DGRAM, 1);
      lua_pushvalue(L, -1);
      lua_setiuservalue(L, 1, UUV_VIEW);
    }
    return 1;
  }
  return 1;
}

static int u_tostring(lua_State *L) {
  ludp *u = checkudp(L, 1);
  luaL_Buffer b;
  if (u->io.fd < 0) {
    alua__repr_begin(L, &b, "DatagramEndpoint closed");
    return alua__repr_end(&b);
  }
  alua__repr_begin(L, &b, "DatagramEndpoint ");
  alua__add_sockname(&b, "", u->io.fd, 0);
  if (u->connected) alua__add_sockname(&b, " peer=", u->io.fd, 1);
  return alua__repr_end(&b);
}

/* Protected part of udp_new on the endpoint at 1: binds and connects.
 * Arguments: family at 2, local {host, port} or path at 3/4, remote at 5/6,
 * flags at 7. */
static int setup_p(lua_State *L) {
  ludp *u = lua_touserdata(L, 1);
  int flags = (int)lua_tointeger(L, 7);
  ac_addr a;
  if (!lua_isnil(L, 3)) {
    alua__check_sockaddr(L, u->family, 3, &a, "open_udp");
    if (u->family == AF_UNIX) {
      const char *p = lua_tostring(L, 3);
      if (p[0] != '@') unlink(p);
    }
    int on = 1;
    if ((flags & AC_SOCK_REUSEPORT) && setsockopt(u->io.fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
      return alua__oserror(L, errno, "open_udp: reuse_port");
    if (bind(u->io.fd, (struct sockaddr *)&a.ss, a.len) < 0) {
      int err = errno;
      return alua__oserror(L, err, "open_udp: bind to %s", alua__push_addrtext(L, (struct sockaddr *)&a.ss, a.len));
    }
  }
  if (flags & AC_SOCK_BROADCAST) {
    int on = 1;
    if (setsockopt(u->io.fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) < 0)
      return alua__oserror(L, errno, "open_udp: allow_broadcast");
  }
  if (!lua_isnil(L, 5)) {
    alua__check_sockaddr(L, u->family, 5, &a, "open_udp");
    if (connect(u->io.fd, (struct sockaddr *)&a.ss, a.len) < 0) return alua__oserror(L, errno, "open_udp: connect");
    u->connected = 1;
  }
  return 0;
}

/* internals.udp_new(family, lhost, lport, rhost, rport, flags): a new
 * endpoint; hosts numeric (or paths for "unix"), nil for none. */
static int l_udp_new(lua_State *L) {
  rt *r = alua__rt(L);
  int family = alua__checkfamily(L, 1, AF_INET, "open_udp");
  lua_settop(L, 6);
  int flags = 0;
  if (lua_istable(L, 6)) {
    if (lua_getfield(L, 6, "reuse_port") != LUA_TNIL && lua_toboolean(L, -1)) flags |= AC_SOCK_REUSEPORT;
    if (lua_getfield(L, 6, "allow_broadcast") != LUA_TNIL && lua_toboolean(L, -1)) flags |= AC_SOCK_BROADCAST;
    lua_settop(L, 6);
  }
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  int fd = ac_socket(family, SOCK_DGRAM, 0);
  if (fd < 0) return alua__oserror(L, -fd, "open_udp: socket");
  ludp *u = lua_newuserdatauv(L, sizeof *u, UUV_N);
  int uidx = lua_gettop(L);
  memset(u, 0, sizeof *u);
  u->lp = lp;
  ac_io_init(&u->io, fd, on_io);
  alua__resource_open(lp, &u->res, "UDP endpoint", &u->io.fd);
  ac_list_init(&u->receivers);
  ac_buf_init(&u->queue);
  u->family = family;
  u->anchor = LUA_NOREF;
  luaL_setmetatable(L, MT_UDP);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, uidx, UUV_LOOP);
  lua_pushcfunction(L, setup_p);
  lua_pushvalue(L, uidx);
  lua_pushinteger(L, family);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 5);
  lua_pushinteger(L, flags);
  /* setup_p reads the family from the endpoint; slot 2 is unused */
  if (lua_pcall(L, 7, 0, 0) != LUA_OK) {
    udp_close(u);
    return lua_error(L);
  }
  lua_settop(L, uidx);
  return 1;
}

void alua__open_udp(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"send", u_send},
                                     {"recv", u_recv},
                                     {"close", u_close},
                                     {"is_closing", u_is_closing},
                                     {"getsockname", u_getsockname},
                                     {"getpeername", u_getpeername},
                                     {"get_extra_info", u_get_extra_info},
                                     {"__tostring", u_tostring},
                                     {"__gc", u_gc},
                                     {"__close", u_close},
                                     {NULL, NULL}};
  alua__newclass(L, r, MT_UDP, methods);
  lua_setfield(L, internals, "DatagramEndpoint");
  static const char *const ops[] = {"recv"};
  alua__newopclass(L, r, MT_UDPOP, recv_await, "endpoint:", ops);
  static const luaL_Reg funcs[] = {{"udp_new", l_udp_new}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}

/* Streams: StreamReader and StreamWriter over one non-blocking descriptor
 * (a TCP or Unix socket, or a pipe of a subprocess).
 *
 * Three userdata make a stream: the core (this file's lstream, hidden from
 * Lua), a reader and a writer that point at it and keep it alive. The core
 * is anchored in the loop only while it holds written data not yet sent (so
 * `writer:write(x); writer:close()` still delivers x after the objects are
 * dropped); otherwise a stream nobody references is collected and its
 * finalizer closes the descriptor.
 *
 * Reading. While the stream reads (not paused, no end of stream yet) its
 * watcher is registered for EPOLLIN once and stays so: each readiness event
 * reads what the socket has into `rbuf` and wakes the parked reader, which
 * then tries to complete its operation from the buffer. Nothing calls
 * epoll_ctl per message. Flow control: when nobody is reading and the
 * buffer holds 2 * limit bytes or more, the watcher stops reading (the
 * kernel's buffers then push back on the peer); it reads again when a task
 * waits for data or the buffer falls below limit.
 *
 * Writing. write() sends at once when nothing is queued; what the socket
 * does not take goes to `wbuf` and the watcher adds EPOLLOUT until it is
 * flushed. drain() waits while more than `high` bytes are queued, until
 * `low` or less are.
 *
 * Cancellation. Parked tasks sit on the core's intrusive lists (readers,
 * drainers, closers); cancelling one takes it off (task.c), and the
 * continuations below only clear their own state, so a cancelled read
 * leaves every byte it had not returned in the buffer and a cancelled drain
 * leaves the queued data flowing. Nothing is lost, nothing is corrupt.
 *
 * Filters. A stream may carry a filter between its buffers and the
 * descriptor (TLS, installed by writer:start_tls in tls.c): then rbuf holds
 * what the filter decoded, wbuf what it encoded, and the paths above are
 * the same, so reads, drains, flow control, timeouts and cancellation
 * behave exactly as on a plain stream. The filter's failures raise its own
 * errors (SSLError) instead of the OS's.
 *
 * Operations: reader:read(n) and the others return an operation object
 * whose await does the work (waiters.c explains the pattern). Each reader
 * and writer keeps one of each kind and hands it out again once awaited, so
 * the read/write loop of a server allocates nothing but the strings it
 * returns. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/sepscan.h"
#include "lua/io/io.h"
#include "lua/runtime/site.h"

#define MT_STREAM "asyncio.Stream"
#define MT_READER "asyncio.StreamReader"
#define MT_WRITER "asyncio.StreamWriter"
#define MT_READOP "asyncio.StreamReader operation"
#define MT_WRITEOP "asyncio.StreamWriter operation"

/* Bytes made room for before each read from the descriptor. */
#define READ_CHUNK 65536
/* A buffer emptied keeps its storage up to this size (a burst of megabytes
 * is given back once it is read or sent). */
#define WBUF_KEEP (256 * 1024)
#define RBUF_KEEP (256 * 1024)

/* Uservalues of the core, the reader, the writer, and of an operation. */
enum { CUV_LOOP = 1, CUV_VIEW, CUV_N = CUV_VIEW };
enum { RUV_CORE = 1, RUV_OP, RUV_N = RUV_OP };
enum { WUV_CORE = 1, WUV_DRAIN, WUV_CLOSED, WUV_N = WUV_CLOSED };
enum { OUV_CORE = 1, OUV_SEP, OUV_N = OUV_SEP };

struct lstream {
  lloop *lp;           /* loop the stream belongs to */
  ac_io io;            /* watcher of the descriptor; io.fd is -1 once closed */
  alua__resource res;  /* on the loop's list of open resources while io.fd is open */
  ac_buf rbuf;         /* received, not yet read */
  ac_buf wbuf;         /* written, not yet sent */
  ac_list readers;     /* the task parked in a read (one at most) */
  ac_list drainers;    /* tasks parked in drain */
  ac_list closers;     /* tasks parked in wait_closed */
  ac_timer timer;      /* deadline of the parked read (read_timeout) */
  ac_sepscan scan;     /* how far a readline / readuntil searched rbuf */
  uint64_t deadline;   /* when the read in progress times out */
  alua__stream_opts o;  /* limit, water marks, read timeout */
  lsock *view;         /* socket object of get_extra_info("socket"), or NULL */
  alua__filter *filter; /* between the buffers and the descriptor (TLS), or NULL */
  int err;             /* errno that broke the connection (sticky), or 0 */
  int anchor;          /* ref in the loop while wbuf holds data, or LUA_NOREF */
  uint8_t readable;    /* the descriptor is read (socket, read end of a pipe) */
  uint8_t writable;    /* the descriptor is written */
  uint8_t is_sock;     /* send/recv; write_eof is shutdown(SHUT_WR) */
  uint8_t eof;         /* no more data will come (end of stream, or closed by us) */
  uint8_t paused;      /* reading stopped by flow control */
  uint8_t reading;     /* a read operation is in progress (parked or just woken) */
  uint8_t timed_out;   /* the read in progress passed its deadline */
  uint8_t eof_pending; /* write_eof was called: shut the write side once wbuf empties */
  uint8_t wshut;       /* the write side is shut (write_eof done) */
  uint8_t closing;     /* close() was called */
  uint8_t ferr;        /* err is the filter's failure (it says why) */
  alua__stream_hook on_close; /* told once when finish_close closes the descriptor, or NULL */
  void *on_close_arg;
};

/* A reader or a writer: the core they share. */
typedef struct side {
  lstream *s;
} side;

/* A reader operation; the parameters move to the awaiting task's stack when
 * it is awaited, so the object can be handed out again at once. */
enum { R_READ, R_READLINE, R_READEXACTLY, R_READUNTIL, R_READANY, R_READY };
static const char *const rop_names[] = {"read", "readline", "readexactly", "readuntil", "readuntil", "start_tls"};

typedef struct rop {
  alua__awop awop; /* handed out and not awaited yet (first: see ops.c) */
  uint8_t kind;  /* R_* */
  uint8_t armed; /* returned by a method and not awaited yet */
  lua_Integer n; /* read / readexactly size */
  lstream *s;    /* the core (also uservalue 1) */
} rop;

/* The separators of readuntil given a list (R_READANY), checked once and
 * packed in one userdata, their bytes after the array: it rides in the
 * operation's OUV_SEP and then on the awaiting task's stack, as a single
 * separator's string does. */
typedef struct seplist {
  size_t n;
  ac_sep sep[];
} seplist;

/* Kinds of the writer's operations (alua__op, acting on the core; no
 * parameters: one object per kind serves forever). */
enum { W_DRAIN, W_WAIT_CLOSED };

/* -- options ----------------------------------------------------------------- */

/* Reads the non-negative integer field `name` of the table at idx. */
static size_t size_field(lua_State *L, int idx, const char *name, size_t def, const char *fname) {
  int t = lua_getfield(L, idx, name);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  int isnum;
  lua_Integer v = lua_tointegerx(L, -1, &isnum);
  if (!isnum || v < 0 || v > ((lua_Integer)1 << 40))
    alua__user_error(L, "bad option '%s' to '%s' (non-negative integer expected)", name, fname);
  lua_pop(L, 1);
  return (size_t)v;
}

void alua__stream_opts_check(lua_State *L, int idx, alua__stream_opts *o, const char *fname) {
  o->limit = 65536;
  o->high = 65536;
  o->low = 16384;
  o->read_timeout = 0;
  if (lua_isnoneornil(L, idx)) return;
  if (!lua_istable(L, idx))
    alua__user_error(L, "bad argument to '%s' (option table expected, got %s)", fname, luaL_typename(L, idx));
  o->limit = size_field(L, idx, "limit", o->limit, fname);
  if (o->limit == 0) alua__user_error(L, "bad option 'limit' to '%s' (must be positive)", fname);
  o->high = size_field(L, idx, "high_water", o->high, fname);
  o->low = size_field(L, idx, "low_water", o->high < o->low ? o->high / 4 : o->low, fname);
  if (o->low > o->high) alua__user_error(L, "bad option 'low_water' to '%s' (must not exceed high_water)", fname);
  if (lua_getfield(L, idx, "read_timeout") != LUA_TNIL) {
    int isnum;
    lua_Number v = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !(v >= 0)) alua__user_error(L, "bad option 'read_timeout' to '%s' (non-negative number expected)", fname);
    o->read_timeout = v;
  }
  lua_pop(L, 1);
}

/* -- the core: descriptor I/O ------------------------------------------------ */

/* One write of n bytes: the count written or a negative errno. A pipe
 * whose reader is gone must not kill us with SIGPIPE: sockets say so with
 * MSG_NOSIGNAL, pipes go through the core's guarded write. */
static ssize_t sys_write(lstream *s, const void *p, size_t n) {
  if (!s->is_sock) return ac_pipe_write(s->io.fd, p, n);
  ssize_t r = send(s->io.fd, p, n, MSG_NOSIGNAL);
  return r < 0 ? -errno : r;
}

/* Registers the interest the stream has now; 0 unregisters. */
static void update_interest(lstream *s) {
  uint32_t ev = 0;
  if (s->io.fd < 0 || s->lp->closed) return;
  if (s->readable && !s->eof && !s->paused && !s->err) ev |= EPOLLIN;
  if (ac_buf_len(&s->wbuf) && !s->err) ev |= EPOLLOUT;
  if (ev == s->io.events) return;
  int rc = ac_io_start(&s->lp->core, &s->io, ev);
  if (rc < 0 && !s->err) {
    /* cannot watch the descriptor (out of memory): the connection is as
     * good as broken, and whoever waits on it must hear so */
    s->err = -rc;
    ac_io_stop(&s->lp->core, &s->io);
    alua__wake_all(&s->readers);
    alua__wake_all(&s->drainers);
  }
}

/* Drops the loop's hold on the core (L NULL: the running loop's thread). */
static void unanchor(lstream *s, lua_State *L) {
  if (s->anchor == LUA_NOREF) return;
  if (!L) L = s->lp->L;
  if (!L) return; /* not inside the loop: dropped at the next chance */
  alua__unanchor(L, s->lp, s->anchor);
  s->anchor = LUA_NOREF;
}

/* Closes the descriptor (and the socket view's number with it). */
static void close_fd(lstream *s) {
  alua__close_io(s->lp, &s->io, &s->res);
  if (s->view) s->view->fd = -1;
}

/* Closes the descriptor now; wakes everyone parked, and tells the owner
 * that watches the stream (alua__stream_on_close). */
static void finish_close(lstream *s, lua_State *L) {
  close_fd(s);
  s->eof = 1;
  ac_buf_reset(&s->wbuf, 0);
  alua__wake_all(&s->readers);
  alua__wake_all(&s->drainers);
  alua__wake_all(&s->closers);
  unanchor(s, L);
  if (s->on_close) {
    alua__stream_hook hook = s->on_close;
    s->on_close = NULL;
    hook(L ? L : s->lp->L, s->on_close_arg);
  }
}

/* The connection broke with errno err: queued output is dropped, readers
 * and drainers wake to report it. */
static void fail(lstream *s, int err, lua_State *L) {
  if (!s->err) s->err = err;
  ac_buf_reset(&s->wbuf, 0);
  alua__wake_all(&s->readers);
  alua__wake_all(&s->drainers);
  if (s->closing) {
    finish_close(s, L);
    return;
  }
  unanchor(s, L);
  update_interest(s);
}

/* Shuts the write side: shutdown for a socket, close for a pipe. */
static void shut_write(lstream *s, lua_State *L) {
  s->eof_pending = 0;
  s->wshut = 1;
  if (s->is_sock) {
    if (shutdown(s->io.fd, SHUT_WR) < 0 && errno != ENOTCONN) fail(s, errno, L);
  } else if (!s->readable) {
    finish_close(s, L);
  }
}

/* Sends what wbuf holds until the descriptor would block; then wakes
 * drainers below the low-water mark and finishes a pending write_eof or
 * close once everything is out. */
static void flush(lstream *s, lua_State *L) {
  size_t len;
  while ((len = ac_buf_len(&s->wbuf)) > 0) {
    ssize_t n = sys_write(s, ac_buf_head(&s->wbuf), len);
    if (n < 0) {
      if (n == -EINTR) continue;
      if (n == -EAGAIN || n == -EWOULDBLOCK) break;
      fail(s, (int)-n, L);
      return;
    }
    ac_buf_consume(&s->wbuf, (size_t)n);
    if ((size_t)n < len) break; /* the socket is full: the next call would be EAGAIN */
  }
  len = ac_buf_len(&s->wbuf);
  if (len <= s->o.low) alua__wake_all(&s->drainers);
  if (len == 0) {
    ac_buf_reset(&s->wbuf, WBUF_KEEP);
    if (s->closing) {
      finish_close(s, L);
      return;
    }
    unanchor(s, L);
    if (s->eof_pending) shut_write(s, L);
  }
  update_interest(s);
}

/* Stops reading when nobody reads and the buffer is full (2 * limit). */
static void maybe_pause(lstream *s) {
  if (!s->paused && !s->reading && ac_buf_len(&s->rbuf) >= 2 * s->o.limit) {
    s->paused = 1;
    update_interest(s);
  }
}

/* Reads again once a task waits for data or the buffer is below limit. */
static void maybe_resume(lstream *s) {
  if (s->paused && (s->reading || ac_buf_len(&s->rbuf) < s->o.limit)) {
    s->paused = 0;
    update_interest(s);
  }
}

/* Hands n wire bytes at p to the filter: the plaintext they complete goes
 * to rbuf, what the protocol answers is sent. p may point into rbuf's free
 * space (decode consumes it before it appends). */
static void filter_input(lstream *s, const char *p, size_t n, lua_State *L) {
  size_t queued = ac_buf_len(&s->wbuf);
  int rc = s->filter->ops->decode(s->filter, p, n, &s->rbuf, &s->wbuf);
  /* replies go out first, so that a failure's alert reaches the peer */
  if (ac_buf_len(&s->wbuf) > queued && !s->err && s->io.fd >= 0) flush(s, L);
  if (rc == ALUA__FILTER_EOF) {
    s->eof = 1;
    update_interest(s);
  } else if (rc < 0 && !s->err) {
    s->ferr = rc != -ENOMEM;
    fail(s, -rc, L);
  }
}

/* Reads what the descriptor has into rbuf and wakes the reader. */
static void fill(lstream *s) {
  if (ac_buf_reserve(&s->rbuf, READ_CHUNK) < 0) {
    fail(s, ENOMEM, NULL);
    return;
  }
  /* Nobody reading: one chunk at a time, so flow control stops the buffer
   * within a chunk of 2 * limit. A parked reader takes all there is room for. */
  size_t want = ac_buf_room(&s->rbuf);
  if (!s->reading && want > READ_CHUNK) want = READ_CHUNK;
  ssize_t n;
  if (s->is_sock) n = recv(s->io.fd, ac_buf_tail(&s->rbuf), want, 0);
  else n = read(s->io.fd, ac_buf_tail(&s->rbuf), want);
  if (n > 0) {
    if (s->filter) filter_input(s, ac_buf_tail(&s->rbuf), (size_t)n, NULL);
    else ac_buf_commit(&s->rbuf, (size_t)n);
    alua__wake_first(&s->readers);
    maybe_pause(s);
    return;
  }
  if (n == 0) {
    /* a pipe we only read from has nothing left to do: its descriptor is
     * closed now, as the child's stdout ends, not when it is collected */
    if (!s->is_sock && !s->writable) {
      finish_close(s, NULL);
      return;
    }
    s->eof = 1;
    alua__wake_first(&s->readers);
    update_interest(s);
    return;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
  fail(s, errno, NULL);
}

/* Poll phase. Output first: a hang-up with queued output must report the
 * write error, and flushing may finish a close. */
static void on_io(ac_io *io, uint32_t revents) {
  lstream *s = ac_container_of(io, lstream, io);
  if ((revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && ac_buf_len(&s->wbuf)) {
    flush(s, NULL);
    if (s->io.fd < 0) return;
  }
  if ((revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (s->io.events & EPOLLIN)) fill(s);
}

/* Timer of read_timeout: the parked reader wakes and raises TimeoutError. */
static void on_timeout(ac_timer *tm) {
  lstream *s = ac_container_of(tm, lstream, timer);
  s->timed_out = 1;
  alua__wake_first(&s->readers);
}

/* Anchors the core of the reader or writer at sideidx while output is
 * queued. */
static void anchor(lua_State *L, lstream *s, int sideidx) {
  if (s->anchor != LUA_NOREF) return;
  lua_getiuservalue(L, sideidx, 1);
  s->anchor = alua__anchor(L, s->lp, -1);
  lua_pop(L, 1);
}

/* stream_write through the filter: what it encodes is queued and sent.
 * Out of line, so the plain path stays as short as it was. */
static __attribute__((noinline)) void filter_write(lua_State *L, lstream *s, int sideidx, const char *p, size_t n) {
  int direct = ac_buf_len(&s->wbuf) == 0;
  int rc = s->filter->ops->encode(s->filter, p, n, &s->wbuf);
  if (rc == -ENOMEM) luaL_error(L, "write: not enough memory");
  if (rc < 0) {
    s->ferr = 1;
    fail(s, -rc, L);
    return;
  }
  anchor(L, s, sideidx);
  if (direct) flush(s, L);
  else update_interest(s);
}

/* Queues (or sends) n bytes for the writer at sideidx. */
static void stream_write(lua_State *L, lstream *s, int sideidx, const char *p, size_t n) {
  if (n == 0) return;
  if (s->filter) {
    filter_write(L, s, sideidx, p, n);
    return;
  }
  if (ac_buf_len(&s->wbuf) == 0) {
    ssize_t w;
    do w = sys_write(s, p, n);
    while (w == -EINTR);
    if (w == (ssize_t)n) return;
    if (w < 0) {
      if (w != -EAGAIN && w != -EWOULDBLOCK) {
        fail(s, (int)-w, L);
        return;
      }
      w = 0;
    }
    p += w;
    n -= (size_t)w;
  }
  if (ac_buf_append(&s->wbuf, p, n) < 0) luaL_error(L, "write: not enough memory");
  anchor(L, s, sideidx);
  update_interest(s);
}

/* -- creating streams ---------------------------------------------------------- */

static int core_gc(lua_State *L) {
  lstream *s = alua__gc_self(L);
  close_fd(s);
  if (!s->lp->closed) ac_loop_timer_stop(&s->lp->core, &s->timer);
  ac_buf_free(&s->rbuf);
  ac_buf_free(&s->wbuf);
  if (s->filter) s->filter->ops->free(s->filter);
  s->filter = NULL;
  return 0;
}

/* Pushes a reader or writer of the core at coreidx. */
static void push_side(lua_State *L, lstream *s, int coreidx, const char *mt, int nuv, int coreuv) {
  side *d = lua_newuserdatauv(L, sizeof *d, nuv);
  d->s = s;
  luaL_setmetatable(L, mt);
  lua_pushvalue(L, coreidx);
  lua_setiuservalue(L, -2, coreuv);
}

/* Protected: the core's userdata, uninitialized. */
static int newcore_p(lua_State *L) {
  lua_newuserdatauv(L, sizeof(lstream), CUV_N);
  return 1;
}

void alua__stream_new(lua_State *L, lloop *lp, int fd, int kinds, const alua__stream_opts *o, int sockidx) {
  sockidx = sockidx ? lua_absindex(L, sockidx) : 0;
  /* Until the core exists, a failure closes fd here (a socket object at
   * sockidx still owns it then); from then on an error (out of memory)
   * leaves it to the core's finalizer. Never leaked. */
  if (!lua_checkstack(L, 4)) {
    if (!sockidx) close(fd);
    luaL_error(L, "stack overflow");
  }
  lua_pushcfunction(L, newcore_p);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    if (!sockidx) close(fd);
    lua_error(L);
  }
  lstream *s = lua_touserdata(L, -1);
  memset(s, 0, sizeof *s);
  s->lp = lp;
  ac_io_init(&s->io, fd, on_io);
  alua__resource_open(lp, &s->res, "stream", &s->io.fd);
  ac_buf_init(&s->rbuf);
  ac_buf_init(&s->wbuf);
  ac_list_init(&s->readers);
  ac_list_init(&s->drainers);
  ac_list_init(&s->closers);
  ac_timer_init(&s->timer, on_timeout);
  s->o = *o;
  s->anchor = LUA_NOREF;
  s->readable = (kinds & STREAM_READ) != 0;
  s->writable = (kinds & STREAM_WRITE) != 0;
  s->is_sock = (kinds & STREAM_SOCKET) != 0;
  luaL_setmetatable(L, MT_STREAM);
  int core = lua_gettop(L);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, core, CUV_LOOP);
  if (sockidx) {
    lsock *v = alua__tosocket(L, sockidx);
    v->borrowed = 1;
    lua_pushvalue(L, core);
    lua_setiuservalue(L, sockidx, 2); /* the socket's owner */
    lua_pushvalue(L, sockidx);
    lua_setiuservalue(L, core, CUV_VIEW);
    s->view = v;
  }
  if (s->is_sock) ac_sock_nodelay(fd);
  update_interest(s);
  if (s->readable) push_side(L, s, core, MT_READER, RUV_N, RUV_CORE);
  else lua_pushnil(L);
  if (s->writable) push_side(L, s, core, MT_WRITER, WUV_N, WUV_CORE);
  else lua_pushnil(L);
  lua_remove(L, core);
}

/* internals.stream_from_socket(sock, opts): reader, writer over a connected
 * stream socket; the socket stays usable as the writer's "socket" view. */
static int l_stream_from_socket(lua_State *L) {
  rt *r = alua__rt(L);
  lsock *v = alua__checksocket(L, 1);
  if (v->fd < 0) return alua__user_error(L, "the socket is closed");
  if (v->borrowed) return alua__user_error(L, "the socket already belongs to a stream");
  if (!ac_list_empty(&v->readers) || !ac_list_empty(&v->writers))
    return alua__user_error(L, "the socket is busy with a sock_* operation");
  alua__stream_opts o;
  alua__stream_opts_check(L, 2, &o, "open_connection");
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  if (v->lp && !v->lp->closed) ac_io_stop(&v->lp->core, &v->io);
  alua__stream_new(L, lp, v->fd, STREAM_READ | STREAM_WRITE | STREAM_SOCKET, &o, 1);
  return 2;
}

/* internals.check_stream_opts(opts, fname): raises for a bad stream option
 * before any connection or child is made. */
static int l_check_stream_opts(lua_State *L) {
  alua__stream_opts o;
  alua__stream_opts_check(L, 1, &o, luaL_checkstring(L, 2));
  return 0;
}

/* internals.stream_from_fd(fd, "r" | "w", opts): a reader or a writer over
 * a pipe descriptor, which the stream owns from now on. */
static int l_stream_from_fd(lua_State *L) {
  rt *r = alua__rt(L);
  int fd = (int)luaL_checkinteger(L, 1);
  const char *mode = luaL_checkstring(L, 2);
  alua__stream_opts o;
  alua__stream_opts_check(L, 3, &o, "create_subprocess_exec");
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  int rc = ac_set_nonblock(fd);
  if (rc < 0) {
    close(fd);
    return alua__oserror(L, -rc, "cannot make descriptor %d non-blocking", fd);
  }
  alua__stream_new(L, lp, fd, mode[0] == 'w' ? STREAM_WRITE : STREAM_READ, &o, 0);
  if (mode[0] == 'w') lua_remove(L, -2);
  else lua_pop(L, 1);
  return 1;
}

/* -- reader --------------------------------------------------------------------- */

/* Registry keys of the reader and writer metatables: checking self by
 * pointer costs less than luaL_checkudata's lookup by name, on the path
 * every message takes. */
static const char reader_key = 0, writer_key = 0;

static lstream *checkside(lua_State *L, int idx, const char *key, const char *tname) {
  side *d = lua_touserdata(L, idx);
  if (d && lua_getmetatable(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, key);
    int ok = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (ok) return d->s;
  }
  luaL_typeerror(L, idx, tname);
  return NULL;
}

static lstream *checkwriter(lua_State *L, int idx) { return checkside(L, idx, &writer_key, MT_WRITER); }

/* The stream of `self` (argument 1) in a reader or writer method: the
 * methods hold their class as upvalue 2 (alua__newclass_self), so this is
 * one comparison where checkside looks the class up. */
static lstream *selfside(lua_State *L, const char *tname) {
  side *d = alua__self(L, 1);
  if (!d) luaL_typeerror(L, 1, tname);
  return d->s;
}

#define selfreader(L) selfside(L, MT_READER)
#define selfwriter(L) selfside(L, MT_WRITER)

/* Pushes the first n buffered bytes and consumes them. */
static void take(lua_State *L, lstream *s, size_t n) {
  lua_pushlstring(L, ac_buf_head(&s->rbuf), n);
  ac_buf_consume(&s->rbuf, n);
  if (ac_buf_len(&s->rbuf) == 0 && s->rbuf.cap > RBUF_KEEP) ac_buf_reset(&s->rbuf, RBUF_KEEP);
  maybe_resume(s);
}

/* Raises the connection's error (the filter's, when it failed), naming
 * the function fname. */
static int raise_stream_err(lua_State *L, lstream *s, const char *fname) {
  if (s->ferr) {
    s->filter->ops->push_error(s->filter, L, fname);
    return lua_error(L);
  }
  return alua__oserror(L, s->err, "%s", fname);
}

static int raise_err(lua_State *L, lstream *s, int kind) { return raise_stream_err(L, s, rop_names[kind]); }

/* Raises IncompleteReadError with the whole buffer as `partial`. */
static int incomplete(lua_State *L, lstream *s, lua_Integer expected) {
  rt *r = alua__rt(L);
  size_t got = ac_buf_len(&s->rbuf);
  if (expected >= 0)
    lua_pushfstring(L, "%d bytes read on a total of %d expected bytes", (int)got, (int)expected);
  else
    lua_pushfstring(L, "%d bytes read before the end of the stream, separator not found", (int)got);
  alua__push_error(L, r, "IncompleteReadError", lua_tostring(L, -1));
  take(L, s, got);
  lua_setfield(L, -2, "partial");
  if (expected >= 0) {
    lua_pushinteger(L, expected);
    lua_setfield(L, -2, "expected");
  }
  return lua_error(L);
}

/* Raises LimitOverrunError with `consumed`. */
static int overrun(lua_State *L, const char *msg, size_t consumed) {
  alua__push_error(L, alua__rt(L), "LimitOverrunError", msg);
  lua_pushinteger(L, (lua_Integer)consumed);
  lua_setfield(L, -2, "consumed");
  return lua_error(L);
}

/* Raises the LimitOverrunError of a separator search that gave -EMSGSIZE. */
static int sep_overrun(lua_State *L, lstream *s) {
  return overrun(L,
                 s->scan.found ? "Separator is found, but chunk is longer than limit"
                               : "Separator is not found, and chunk exceed the limit",
                 s->scan.len);
}

static int k_read(lua_State *L, int status, lua_KContext ctx);
static void read_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx);

static void describe_wait(lua_State *L, task *t, void *on, int obj, int rec);

static const alua__waitclass wait_read = {
    .what = "StreamReader read", .cancelled = read_cancelled, .slot = 2, .describe = describe_wait};

/* Tries the read of `kind` on the stack [op, core, n, sep]: returns its
 * result, raises, or parks the task until the buffer changes. `first` is
 * set for the first attempt of an await. */
static int do_read(lua_State *L, task *t, lstream *s, int kind, int first) {
  size_t len = ac_buf_len(&s->rbuf);
  lua_Integer n = lua_tointeger(L, 3);
  switch (kind) {
  case R_READ:
    if (n == 0) {
      lua_pushliteral(L, "");
      return 1;
    }
    if (n < 0) {
      if (s->err && len == 0) return raise_err(L, s, kind);
      if (s->eof || s->err) {
        take(L, s, len);
        return 1;
      }
    } else if (len > 0) {
      take(L, s, len < (size_t)n ? len : (size_t)n);
      return 1;
    } else if (s->eof) {
      lua_pushliteral(L, "");
      return 1;
    } else if (s->err) {
      return raise_err(L, s, kind);
    }
    break;
  case R_READEXACTLY:
    if ((lua_Integer)len >= n) {
      take(L, s, (size_t)n);
      return 1;
    }
    if (s->err) return raise_err(L, s, kind);
    if (s->eof) return incomplete(L, s, n);
    break;
  case R_READY: /* the filter's handshake; stack [op, core, 0, fname] */
    if (s->filter->ops->ready(s->filter)) return 0;
    if (s->err) return raise_stream_err(L, s, lua_tostring(L, 4));
    if (s->eof) { /* the filter says how the peer left */
      s->filter->ops->push_error(s->filter, L, lua_tostring(L, 4));
      return lua_error(L);
    }
    break;
  default: { /* R_READLINE, R_READUNTIL */
    size_t seplen;
    const char *sep = kind == R_READLINE ? (seplen = 1, "\n") : lua_tolstring(L, 4, &seplen);
    if (first) ac_sep_init(&s->scan);
    int rc = ac_sep_find(&s->scan, ac_buf_head(&s->rbuf), len, sep, seplen, s->o.limit);
    if (rc == 0) {
      take(L, s, s->scan.len);
      return 1;
    }
    if (rc == -EMSGSIZE) {
      /* readline drops the overlong line (what came of it when its end has
       * not), so the next one can be read */
      if (kind == R_READLINE) ac_buf_consume(&s->rbuf, s->scan.found ? s->scan.len + seplen : len), maybe_resume(s);
      return sep_overrun(L, s);
    }
    if (s->err) return raise_err(L, s, kind);
    if (s->eof) {
      if (kind == R_READLINE) {
        take(L, s, len);
        return 1;
      }
      return incomplete(L, s, -1);
    }
    break;
  }
  case R_READANY: { /* stack [op, core, 0, seplist] */
    const seplist *sl = lua_touserdata(L, 4);
    if (first) ac_sep_init(&s->scan);
    int rc = ac_sep_find_any(&s->scan, ac_buf_head(&s->rbuf), len, sl->sep, sl->n, s->o.limit);
    if (rc == 0) {
      take(L, s, s->scan.len);
      return 1;
    }
    if (rc == -EMSGSIZE) return sep_overrun(L, s);
    if (s->err) return raise_err(L, s, kind);
    if (s->eof) return incomplete(L, s, -1);
    break;
  }
  }
  /* Park until the buffer changes. */
  if (first) {
    if (s->reading) return alua__user_error(L, "%s: another task is already reading from this stream", rop_names[kind]);
    if (s->lp != t->f.loop) return alua__user_error(L, "%s: the stream belongs to another event loop", rop_names[kind]);
    if (s->o.read_timeout > 0) {
      uint64_t now = ac_loop_update_time(&s->lp->core);
      double ns = s->o.read_timeout * 1e9;
      s->deadline = ns >= (double)(UINT64_MAX - now) ? UINT64_MAX : now + (uint64_t)ns;
    }
  }
  if (s->o.read_timeout > 0) ac_loop_timer_start(&s->lp->core, &s->timer, s->deadline);
  s->reading = 1;
  s->timed_out = 0;
  maybe_resume(s);
  return alua__park(L, t, &s->readers, &wait_read, s, kind, k_read);
}

/* A read stops waiting: no more read timeout. */
static void end_read(lstream *s) {
  s->reading = 0;
  if (s->o.read_timeout > 0 && !s->lp->closed) ac_loop_timer_stop(&s->lp->core, &s->timer);
}

static void read_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  end_read(on);
  maybe_pause(on);
}

static int k_read(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  lstream *s = lua_touserdata(L, 2);
  end_read(s);
  if (s->timed_out) {
    s->timed_out = 0;
    maybe_pause(s);
    lua_pushfstring(L, "%s timed out after %f s", rop_names[(int)ctx], (lua_Number)s->o.read_timeout);
    alua__push_error(L, alua__rt(L), "TimeoutError", lua_tostring(L, -1));
    return lua_error(L);
  }
  return do_read(L, t, s, (int)ctx, 0);
}

/* The await hook of reader operations: stack [op]. */
static int rop_await(lua_State *L) {
  rop *o = lua_touserdata(L, 1);
  if (!o->armed) return alua__user_error(L, "%s: this operation was already awaited; call the method again", rop_names[o->kind]);
  o->armed = 0;
  rt *r = alua__rt(L);
  alua__awop_taken(&o->awop);
  task *t = alua__current_task(L, r);
  lua_getiuservalue(L, 1, OUV_CORE);
  lua_pushinteger(L, o->n);
  if (o->kind >= R_READUNTIL) lua_getiuservalue(L, 1, OUV_SEP); /* R_READUNTIL, R_READANY, R_READY */
  else lua_pushnil(L);
  return do_read(L, t, o->s, o->kind, 1);
}

/* Pushes the reader's operation object for kind/n/sep (the reader's own one
 * unless that one was handed out and not awaited yet). */
static int push_rop(lua_State *L, lstream *s, int kind, lua_Integer n, int sepidx) {
  rop *o = NULL;
  int have = lua_getiuservalue(L, 1, RUV_OP) == LUA_TUSERDATA;
  if (have) {
    o = lua_touserdata(L, -1);
    if (o->armed) o = NULL; /* handed out and not awaited yet: leave it alone */
  }
  if (!o) {
    lua_pop(L, 1);
    o = lua_newuserdatauv(L, sizeof *o, OUV_N);
    alua__awop_init(&o->awop, alua__rt(L));
    o->s = s;
    luaL_setmetatable(L, MT_READOP);
    lua_getiuservalue(L, 1, RUV_CORE);
    lua_setiuservalue(L, -2, OUV_CORE);
    if (!have) { /* the first one becomes the reader's own */
      lua_pushvalue(L, -1);
      lua_setiuservalue(L, 1, RUV_OP);
    }
  }
  o->kind = (uint8_t)kind;
  o->n = n;
  o->armed = 1;
  if (sepidx) {
    lua_pushvalue(L, sepidx);
    lua_setiuservalue(L, -2, OUV_SEP);
  }
  static const char *const names[] = {"reader:read()", "reader:readline()", "reader:readexactly()",
                                      "reader:readuntil()", "reader:readuntil()"};
  alua__aw_handout_fast(L, &o->awop, kind >= 0 && kind < 5 ? names[kind] : "a reader operation");
  return 1;
}

/* reader:read([n]): up to n bytes as soon as any are there; n = -1 or nil
 * reads to the end of the stream. "" at the end. */
static int r_read(lua_State *L) {
  lstream *s = selfreader(L);
  lua_Integer n = luaL_optinteger(L, 2, -1);
  if (n < -1) return luaL_argerror(L, 2, "size must be -1 (to the end) or a non-negative count");
  return push_rop(L, s, R_READ, n, 0);
}

/* reader:readline(): a line with its "\n"; at the end of the stream the
 * last partial line, then "". */
static int r_readline(lua_State *L) {
  lstream *s = selfreader(L);
  return push_rop(L, s, R_READLINE, 0, 0);
}

/* reader:readexactly(n): exactly n bytes, or IncompleteReadError. */
static int r_readexactly(lua_State *L) {
  lstream *s = selfreader(L);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 0) return luaL_argerror(L, 2, "size must not be negative");
  return push_rop(L, s, R_READEXACTLY, n, 0);
}

/* readuntil of a list of separators (at 2): checks each item once, as it
 * reads it (an __index could give another value when read again), and
 * packs them; a list of one is readuntil of its string. */
static int readuntil_any(lua_State *L, lstream *s) {
  lua_Integer n = luaL_len(L, 2);
  if (n < 1) return alua__user_argerror(L, 1, "readuntil", "the list of separators is empty");
  lua_settop(L, 2);
  lua_newtable(L); /* 3: the items as read */
  size_t bytes = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 2, i) != LUA_TSTRING)
      return alua__user_argerror(L, 1, "readuntil", "separator %d is a %s, not a string", (int)i, luaL_typename(L, -1));
    size_t len = lua_rawlen(L, -1);
    if (len == 0) return alua__user_argerror(L, 1, "readuntil", "separator %d is empty", (int)i);
    bytes += len;
    lua_rawseti(L, 3, i);
  }
  if (n == 1) {
    lua_rawgeti(L, 3, 1);
    lua_replace(L, 2);
    return push_rop(L, s, R_READUNTIL, 0, 2);
  }
  seplist *sl = lua_newuserdatauv(L, sizeof *sl + (size_t)n * sizeof sl->sep[0] + bytes, 0);
  sl->n = (size_t)n;
  char *at = (char *)&sl->sep[n];
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    lua_rawgeti(L, 3, i);
    const char *p = lua_tolstring(L, -1, &len);
    memcpy(at, p, len);
    sl->sep[i - 1] = (ac_sep){at, len};
    at += len;
    lua_pop(L, 1);
  }
  return push_rop(L, s, R_READANY, 0, 4);
}

/* reader:readuntil([sep]): data up to and including sep (default "\n"), or
 * up to and including the first of a list of separators to end. */
static int r_readuntil(lua_State *L) {
  lstream *s = selfreader(L);
  if (lua_type(L, 2) != LUA_TSTRING) {
    if (lua_type(L, 2) == LUA_TTABLE) return readuntil_any(L, s);
    if (lua_isnoneornil(L, 2)) {
      lua_settop(L, 1);
      lua_pushliteral(L, "\n");
    }
  }
  size_t len;
  luaL_checklstring(L, 2, &len);
  if (len == 0) return luaL_argerror(L, 2, "separator must not be empty");
  return push_rop(L, s, R_READUNTIL, 0, 2);
}

/* reader:at_eof(): the stream ended and the buffer is empty. */
static int r_at_eof(lua_State *L) {
  lstream *s = selfreader(L);
  lua_pushboolean(L, s->eof && ac_buf_len(&s->rbuf) == 0);
  return 1;
}

/* reader:buffered(): bytes received and not read yet. */
static int r_buffered(lua_State *L) { return alua__retint(L, ac_buf_len(&selfreader(L)->rbuf)); }

/* reader:get_limit() */
static int r_get_limit(lua_State *L) { return alua__retint(L, selfreader(L)->o.limit); }

/* Adds " peer=host:port" (" sock=path" for the accepted end of a Unix
 * socket, whose peer has no name), " fd=N" or " closed" to b. */
static void describe(luaL_Buffer *b, lstream *s) {
  if (s->io.fd < 0) {
    luaL_addstring(b, " closed");
    return;
  }
  if (!s->is_sock) alua__repr_add(b, " fd=%d", s->io.fd);
  else if (!alua__add_sockname(b, " peer=", s->io.fd, 1)) alua__add_sockname(b, " sock=", s->io.fd, 0);
  if (s->filter) {
    luaL_addchar(b, ' ');
    luaL_addstring(b, s->filter->ops->name);
  }
  if (s->eof) luaL_addstring(b, " eof");
  if (s->closing) luaL_addstring(b, " closing");
}

static int r_tostring(lua_State *L) {
  lstream *s = selfreader(L);
  luaL_Buffer b;
  alua__repr_begin(L, &b, "StreamReader");
  describe(&b, s);
  return alua__repr_end(&b);
}

/* -- writer ---------------------------------------------------------------------- */

/* Checks that the writer at 1 may write; returns 0 when the connection is
 * broken (the data is dropped, as asyncio does: drain() reports it). */
static __attribute__((noinline)) int cannot_write(lua_State *L, lstream *s, const char *fname) {
  if (s->closing) return alua__user_error(L, "%s: the writer is closed", fname);
  if (s->wshut || s->eof_pending) return alua__user_error(L, "%s: cannot write after write_eof()", fname);
  if (s->lp->closed) return alua__user_error(L, "%s: event loop is closed", fname);
  if (s->filter && !s->err && !s->filter->ops->ready(s->filter))
    return alua__user_error(L, "%s: the %s handshake is not finished", fname, s->filter->ops->name);
  return !s->err;
}

static int can_write(lua_State *L, lstream *s, const char *fname) {
  if (s->closing | s->wshut | s->eof_pending | s->lp->closed || s->filter) return cannot_write(L, s, fname);
  return !s->err;
}

/* writer:write(data) */
static int w_write(lua_State *L) {
  lstream *s = selfwriter(L);
  size_t n;
  const char *p = luaL_checklstring(L, 2, &n);
  if (!can_write(L, s, "write")) return 0;
  stream_write(L, s, 1, p, n);
  return 0;
}

/* writer:writelines(list): writes the strings of the list joined, as
 * write does: one system call when nothing is queued, and under TLS one
 * encoding (fewer, fuller records). Each item is read once, straight into
 * the joined text: a list with an __index could give another value when
 * read again. */
static int w_writelines(lua_State *L) {
  lstream *s = selfwriter(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, 2, i) != LUA_TSTRING && !lua_isnumber(L, -1))
      return alua__user_error(L, "bad argument #1 to 'writelines' (item %d is a %s, not a string)", (int)i, luaL_typename(L, -1));
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  if (!can_write(L, s, "writelines")) return 0;
  size_t len;
  const char *p = lua_tolstring(L, -1, &len);
  stream_write(L, s, 1, p, len);
  return 0;
}

static int k_wop(lua_State *L, int status, lua_KContext ctx);

/* "StreamReader read peer=127.0.0.1:4000" (reports) */
static void describe_wait(lua_State *L, task *t, void *on, int obj, int rec) {
  (void)obj;
  (void)rec;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, t->wait->what);
  describe(&b, on);
  luaL_pushresult(&b);
}

static const alua__waitclass wait_drain = {.what = "StreamWriter drain", .slot = 2, .describe = describe_wait};
static const alua__waitclass wait_closed = {.what = "StreamWriter wait_closed",
                                           .slot = 2,
                                           .never = ", which nothing will ever close",
                                           .describe = describe_wait};

/* drain / wait_closed on the stack [op, core]. */
static int do_wop(lua_State *L, task *t, lstream *s, int kind, int first) {
  if (kind == W_WAIT_CLOSED) {
    if (s->io.fd < 0) return 0;
    return alua__park(L, t, &s->closers, &wait_closed, s, kind, k_wop);
  }
  if (s->err) return raise_stream_err(L, s, "drain");
  if (first && s->closing && s->io.fd < 0) return alua__user_error(L, "drain: the writer is closed");
  size_t len = ac_buf_len(&s->wbuf);
  if (first ? len <= s->o.high : len <= s->o.low || s->io.fd < 0) return 0;
  if (first && s->lp != t->f.loop) return alua__user_error(L, "drain: the stream belongs to another event loop");
  return alua__park(L, t, &s->drainers, &wait_drain, s, kind, k_wop);
}

static int k_wop(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  return do_wop(L, t, lua_touserdata(L, 2), (int)ctx, 0);
}

static int wop_await(lua_State *L) {
  alua__op *o = lua_touserdata(L, 1);
  alua__awop_taken(&o->awop);
  task *t = alua__current_task(L, alua__rt(L));
  lstream *s = o->on;
  /* the usual drain: nothing to wait for */
  if (o->kind == W_DRAIN && !s->err && s->io.fd >= 0 && ac_buf_len(&s->wbuf) <= s->o.high) return 0;
  lua_getiuservalue(L, 1, OUV_CORE);
  return do_wop(L, t, s, o->kind, 1);
}

/* writer:drain(): an awaitable that waits while the write buffer is above
 * its high-water mark (until it is at the low-water mark); raises if the
 * connection broke. */
static int w_drain(lua_State *L) {
  selfwriter(L);
  return alua__push_op(L, 1, WUV_DRAIN, WUV_CORE, W_DRAIN, MT_WRITEOP, "writer:drain()");
}

/* writer:wait_closed(): waits until the descriptor is closed. */
static int w_wait_closed(lua_State *L) {
  selfwriter(L);
  return alua__push_op(L, 1, WUV_CLOSED, WUV_CORE, W_WAIT_CLOSED, MT_WRITEOP, "writer:wait_closed()");
}

/* writer:close(): stops reading (the reader sees the end of the stream),
 * sends what is queued, then closes the descriptor. Idempotent. */
void alua__stream_close(lua_State *L, int widx) {
  widx = lua_absindex(L, widx);
  lstream *s = checkwriter(L, widx);
  if (s->closing) return;
  s->closing = 1;
  s->eof = 1;
  alua__wake_all(&s->readers);
  if (s->filter && !s->err && s->io.fd >= 0 && !s->lp->closed) {
    size_t queued = ac_buf_len(&s->wbuf);
    s->filter->ops->close(s->filter, &s->wbuf);
    if (queued == 0 && ac_buf_len(&s->wbuf)) { /* nobody is sending: send the goodbye now */
      anchor(L, s, widx);
      flush(s, L);
      return;
    }
  }
  if (ac_buf_len(&s->wbuf) == 0 || s->err || s->lp->closed) finish_close(s, L);
  else update_interest(s);
}

static int w_close(lua_State *L) {
  alua__stream_close(L, 1);
  return 0;
}

static void abort_now(lstream *s, lua_State *L) {
  s->closing = 1;
  finish_close(s, L);
}

void alua__stream_abort(lua_State *L, int widx) { abort_now(checkwriter(L, widx), L); }

/* writer:abort(): closes at once, dropping queued output. */
static int w_abort(lua_State *L) {
  abort_now(selfwriter(L), L);
  return 0;
}

void alua__stream_on_close(lua_State *L, int widx, alua__stream_hook hook, void *arg) {
  lstream *s = checkwriter(L, widx);
  s->on_close = hook;
  s->on_close_arg = arg;
}

static int w_is_closing(lua_State *L) { return alua__retbool(L, selfwriter(L)->closing); }

static int w_can_write_eof(lua_State *L) {
  lstream *s = selfwriter(L);
  lua_pushboolean(L, s->io.fd >= 0 && !s->closing && !s->filter);
  return 1;
}

/* writer:write_eof(): the peer's reader sees the end of the stream once the
 * queued data is sent; this side can still read. */
static int w_write_eof(lua_State *L) {
  lstream *s = selfwriter(L);
  if (s->closing || s->io.fd < 0) return alua__user_error(L, "write_eof: the writer is closed");
  if (s->filter) return alua__user_error(L, "write_eof: not supported on %s streams", s->filter->ops->name);
  if (s->wshut || s->eof_pending) return 0;
  if (ac_buf_len(&s->wbuf) == 0) shut_write(s, L);
  else s->eof_pending = 1;
  return 0;
}

static int w_get_write_buffer_size(lua_State *L) { return alua__retint(L, ac_buf_len(&selfwriter(L)->wbuf)); }

/* writer:set_write_buffer_limits([high [, low]]) */
static int w_set_write_buffer_limits(lua_State *L) {
  lstream *s = selfwriter(L);
  lua_Integer high = luaL_optinteger(L, 2, 65536);
  lua_Integer low = luaL_optinteger(L, 3, high / 4);
  if (high < 0 || low < 0 || low > high) return alua__user_error(L, "set_write_buffer_limits: need 0 <= low <= high");
  s->o.high = (size_t)high;
  s->o.low = (size_t)low;
  if (ac_buf_len(&s->wbuf) <= s->o.low) alua__wake_all(&s->drainers);
  return 0;
}

/* writer:get_extra_info(name [, default]): "peername" and "sockname" (host,
 * port; or path), "socket" (a socket object), "fd". */
static int w_get_extra_info(lua_State *L) {
  lstream *s = selfwriter(L);
  const char *name = luaL_checkstring(L, 2);
  lua_settop(L, 3);
  if (s->io.fd < 0) return 1;
  if (strcmp(name, "fd") == 0) {
    lua_pushinteger(L, s->io.fd);
    return 1;
  }
  if (!s->is_sock) return 1;
  if (strcmp(name, "peername") == 0 || strcmp(name, "sockname") == 0) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int rc = name[0] == 'p' ? getpeername(s->io.fd, (struct sockaddr *)&ss, &len)
                            : getsockname(s->io.fd, (struct sockaddr *)&ss, &len);
    if (rc < 0) return 1;
    return alua__push_sockaddr(L, (struct sockaddr *)&ss, len);
  }
  if (strcmp(name, "socket") == 0) {
    lua_getiuservalue(L, 1, WUV_CORE);
    int core = lua_gettop(L);
    if (lua_getiuservalue(L, core, CUV_VIEW) == LUA_TUSERDATA) return 1;
    lua_pop(L, 1);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int type = SOCK_STREAM;
    socklen_t tlen = sizeof type;
    if (getsockname(s->io.fd, (struct sockaddr *)&ss, &len) < 0) ss.ss_family = AF_UNSPEC;
    getsockopt(s->io.fd, SOL_SOCKET, SO_TYPE, &type, &tlen);
    s->view = alua__newsocket(L, s->io.fd, ss.ss_family, type, core);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, core, CUV_VIEW);
    return 1;
  }
  int n = s->filter ? s->filter->ops->extra_info(s->filter, L, name) : 0;
  return n ? n : 1;
}

static int w_tostring(lua_State *L) {
  lstream *s = selfwriter(L);
  luaL_Buffer b;
  alua__repr_begin(L, &b, "StreamWriter");
  describe(&b, s);
  if (ac_buf_len(&s->wbuf)) alua__repr_add(&b, " buffered=%d", (int)ac_buf_len(&s->wbuf));
  return alua__repr_end(&b);
}

/* Creates the reader or writer metatable `name`, kept under key in the
 * registry (checkside) and as internals.StreamReader / StreamWriter. */
static void newside(lua_State *L, rt *r, const char *name, const luaL_Reg *methods, const char *key, int internals) {
  alua__newclass_self(L, r, name, methods);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  lua_setfield(L, internals, name + sizeof "asyncio." - 1);
}

/* -- filters -------------------------------------------------------------------- */

lstream *alua__stream_check_plain(lua_State *L, int idx, const char *fname) {
  lstream *s = checkwriter(L, idx);
  if (s->closing || s->io.fd < 0) alua__user_error(L, "%s: the writer is closed", fname);
  if (s->lp->closed) alua__user_error(L, "%s: event loop is closed", fname);
  if (s->filter) alua__user_error(L, "%s: the stream already uses %s", fname, s->filter->ops->name);
  if (!s->is_sock) alua__user_error(L, "%s: not a socket stream", fname);
  if (s->reading) alua__user_error(L, "%s: a task is reading from the stream", fname);
  if (s->wshut || s->eof_pending) alua__user_error(L, "%s: the stream's write side is shut", fname);
  if (ac_buf_len(&s->wbuf)) alua__user_error(L, "%s: written data is still being sent (await drain first)", fname);
  return s;
}

void alua__stream_set_filter(lua_State *L, int widx, lstream *s, alua__filter *f) {
  s->filter = f;
  /* what arrived before the filter is its first input (a client's hello
   * read together with the last plain bytes) */
  ac_buf in = s->rbuf;
  ac_buf_init(&s->rbuf);
  if (!s->err) {
    anchor(L, s, widx);
    filter_input(s, ac_buf_len(&in) ? ac_buf_head(&in) : NULL, ac_buf_len(&in), L);
    if (ac_buf_len(&s->wbuf) == 0) unanchor(s, L);
  }
  ac_buf_free(&in);
}

void alua__stream_push_ready(lua_State *L, int widx, const char *fname) {
  widx = lua_absindex(L, widx);
  lstream *s = checkwriter(L, widx);
  rop *o = lua_newuserdatauv(L, sizeof *o, OUV_N);
  alua__awop_init(&o->awop, alua__rt(L)); /* internal, awaited at once: not handed out */
  o->kind = R_READY;
  o->n = 0;
  o->armed = 1;
  o->s = s;
  luaL_setmetatable(L, MT_READOP);
  lua_getiuservalue(L, widx, WUV_CORE);
  lua_setiuservalue(L, -2, OUV_CORE);
  lua_pushstring(L, fname);
  lua_setiuservalue(L, -2, OUV_SEP);
}

void alua__open_stream(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg core_methods[] = {{"__gc", core_gc}, {NULL, NULL}};
  alua__newclass(L, r, MT_STREAM, core_methods);
  lua_pop(L, 1);
  static const luaL_Reg reader_methods[] = {{"read", r_read},
                                            {"readline", r_readline},
                                            {"readexactly", r_readexactly},
                                            {"readuntil", r_readuntil},
                                            {"at_eof", r_at_eof},
                                            {"buffered", r_buffered},
                                            {"get_limit", r_get_limit},
                                            {"__tostring", r_tostring},
                                            {NULL, NULL}};
  newside(L, r, MT_READER, reader_methods, &reader_key, internals);
  static const luaL_Reg writer_methods[] = {{"write", w_write},
                                            {"writelines", w_writelines},
                                            {"drain", w_drain},
                                            {"close", w_close},
                                            {"abort", w_abort},
                                            {"is_closing", w_is_closing},
                                            {"wait_closed", w_wait_closed},
                                            {"can_write_eof", w_can_write_eof},
                                            {"write_eof", w_write_eof},
                                            {"get_write_buffer_size", w_get_write_buffer_size},
                                            {"set_write_buffer_limits", w_set_write_buffer_limits},
                                            {"get_extra_info", w_get_extra_info},
                                            {"__tostring", w_tostring},
                                            {"__close", w_close},
                                            {NULL, NULL}};
  newside(L, r, MT_WRITER, writer_methods, &writer_key, internals);
  static const char *const wops[] = {"drain", "wait_closed"};
  alua__newopclass(L, r, MT_READOP, rop_await, "reader:", rop_names);
  alua__newopclass(L, r, MT_WRITEOP, wop_await, "writer:", wops);
  static const luaL_Reg funcs[] = {
      {"stream_from_socket", l_stream_from_socket}, {"stream_from_fd", l_stream_from_fd},
      {"check_stream_opts", l_check_stream_opts},   {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}

/* What the network, process and file bindings share (socket.c, stream.c,
 * server.c, udp.c, process.c, file.c, dns.c, tls.c): the socket object,
 * address conversions (addr.c), the stream constructor and its filters.
 * Only src/lua/ includes this. */
#ifndef ALUA_LUA_IO_H
#define ALUA_LUA_IO_H

#include "core/buffer.h"
#include "core/sock.h"
#include "lua/internal.h"

#define MT_SOCKET "asyncio.socket"

/* A socket object (asyncio.socket, server.sockets, get_extra_info("socket")).
 * Uservalue 1: its loop once a sock_* operation registered its watcher;
 * uservalue 2: the object that owns the descriptor of a borrowed socket. */
typedef struct lsock {
  int fd;             /* descriptor, -1 once closed or handed to a stream */
  int family;         /* AF_INET, AF_INET6 or AF_UNIX */
  int type;           /* SOCK_STREAM or SOCK_DGRAM */
  uint8_t borrowed;   /* a view of a descriptor a stream or server owns */
  lloop *lp;          /* loop of the watcher below, NULL until first needed */
  ac_io io;           /* readiness watcher of the sock_* operations */
  ac_list readers;    /* tasks parked in sock_recv / sock_accept */
  ac_list writers;    /* tasks parked in sock_sendall / sock_connect */
} lsock;

/* -- addr.c: addresses and family names -- */
/* The family named by the string at idx ("inet", "inet6", "unix"), def when
 * it is nil; raises an argument error naming fname otherwise. */
int alua__checkfamily(lua_State *L, int idx, int def, const char *fname);
const char *alua__family_name(int family);
/* Pushes the host (or Unix path) and the port (nil for Unix) of sa;
 * returns 2. */
int alua__push_sockaddr(lua_State *L, const struct sockaddr *sa, socklen_t len);
/* Appends "host:port", "[v6]:port" or the Unix path of sa to b. */
void alua__add_sockaddr(luaL_Buffer *b, const struct sockaddr *sa, socklen_t len);
/* Pushes the text alua__add_sockaddr makes and returns it. */
const char *alua__push_addrtext(lua_State *L, const struct sockaddr *sa, socklen_t len);
/* Pushes the local (peer 0) or the remote address of the socket fd as
 * alua__push_sockaddr does; raises an OSError naming fname when it has none. */
int alua__push_sockname(lua_State *L, int fd, int peer, const char *fname);
/* Appends label and the local or remote address of fd to b, nothing when
 * it has none. Returns 0 when nothing was appended or the address was an
 * unnamed Unix socket's, else 1. */
int alua__add_sockname(luaL_Buffer *b, const char *label, int fd, int peer);
/* Reads an address of `family` from the arguments at idx: a Unix path, or
 * a numeric host and a port at idx + 1. fname names the function in errors. */
void alua__check_sockaddr(lua_State *L, int family, int idx, ac_addr *a, const char *fname);

/* -- socket.c -- */
lsock *alua__tosocket(lua_State *L, int idx);
lsock *alua__checksocket(lua_State *L, int idx);
/* Pushes a new socket object for fd. borrowed: the object at owneridx owns
 * fd (the socket never closes it, and keeps the owner alive). */
lsock *alua__newsocket(lua_State *L, int fd, int family, int type, int owneridx);
void alua__open_socket(lua_State *L, rt *r, int module, int internals);

/* -- stream.c -- */
/* Options of a stream, read from an option table. */
typedef struct alua__stream_opts {
  size_t limit;        /* readline/readuntil limit; reading pauses above 2 * limit */
  size_t high;         /* drain waits while more than this is buffered for writing */
  size_t low;          /* ... until the buffer falls to this */
  double read_timeout; /* seconds a read may wait, 0 for no limit */
} alua__stream_opts;

/* Fills o from the option table at idx (nil: defaults); fname names the
 * function in argument errors. */
void alua__stream_opts_check(lua_State *L, int idx, alua__stream_opts *o, const char *fname);

/* Kinds of descriptors a stream wraps. */
enum { STREAM_READ = 1, STREAM_WRITE = 2, STREAM_SOCKET = 4 };

/* Pushes a reader (or nil without STREAM_READ) and a writer (or nil without
 * STREAM_WRITE) over the non-blocking descriptor fd, which the stream owns
 * from now on, even when this raises. sockidx: a socket object to reuse as
 * the view get_extra_info("socket") returns (0 for none). */
void alua__stream_new(lua_State *L, lloop *lp, int fd, int kinds, const alua__stream_opts *o, int sockidx);
/* writer:close() of the writer at widx: sends what is queued, then closes.
 * Idempotent. Raises only out of memory (a TLS stream's goodbye). */
void alua__stream_close(lua_State *L, int widx);
/* writer:abort() of the writer at widx: closes now, dropping what is queued. */
void alua__stream_abort(lua_State *L, int widx);
/* Has hook(L, arg) called once, when the descriptor of the writer at widx
 * is closed by close, abort or a failure after close (not when the stream
 * is collected: whoever watches holds the writer). L is the thread that
 * closed it, or the running loop's; the hook must not raise. NULL hook: no
 * more watching. One watcher per stream. */
typedef void (*alua__stream_hook)(lua_State *L, void *arg);
void alua__stream_on_close(lua_State *L, int widx, alua__stream_hook hook, void *arg);
void alua__open_stream(lua_State *L, rt *r, int module, int internals);

/* -- stream filters (stream.c): TLS (tls.c) sits between a stream's
 * buffers and its socket -- */
typedef struct lstream lstream;
typedef struct alua__filter alua__filter;

/* decode's result when the peer ended the session cleanly. */
#define ALUA__FILTER_EOF 1

typedef struct alua__filter_ops {
  const char *name; /* the protocol, in messages: "TLS" */
  /* n wire bytes arrived at p (n may be 0: make what progress there is):
   * appends the plaintext they complete to `plain` and what the protocol
   * must send to `wire`. p may point into plain's free space: consume it
   * before appending. Returns 0, ALUA__FILTER_EOF, or a negative errno
   * (-EPROTO: a failure push_error can describe). */
  int (*decode)(alua__filter *f, const char *p, size_t n, ac_buf *plain, ac_buf *wire);
  /* Appends the wire form of n plaintext bytes to wire; 0 or a negative
   * errno. Called only once ready. */
  int (*encode)(alua__filter *f, const char *p, size_t n, ac_buf *wire);
  /* True once the handshake is complete. */
  int (*ready)(alua__filter *f);
  /* The writer closes: appends the goodbye (TLS close_notify) to wire. */
  void (*close)(alua__filter *f, ac_buf *wire);
  /* Pushes the error object of the filter's failure, or of the peer
   * leaving during the handshake, with a message naming fname. */
  void (*push_error)(alua__filter *f, lua_State *L, const char *fname);
  /* get_extra_info(name): pushes the values and returns their count, or 0
   * for a name it does not know. */
  int (*extra_info)(alua__filter *f, lua_State *L, const char *name);
  void (*free)(alua__filter *f);
} alua__filter_ops;

struct alua__filter {
  const alua__filter_ops *ops;
};

/* The stream of the writer at idx, checked for a new filter: open, no
 * filter yet, a socket, nobody reading, nothing queued for writing.
 * Raises naming fname otherwise. */
lstream *alua__stream_check_plain(lua_State *L, int idx, const char *fname);
/* Puts f on s (the stream of the writer at widx, checked as above), which
 * owns it from now on: the bytes already received are f's first input, and
 * what f sends first (a client's hello) goes out. */
void alua__stream_set_filter(lua_State *L, int widx, lstream *s, alua__filter *f);
/* Pushes an awaitable that returns once the filter of the writer at widx
 * is ready, or raises its failure (or the connection's) naming fname.
 * read_timeout applies; cancelling it leaves the handshake unfinished. */
void alua__stream_push_ready(lua_State *L, int widx, const char *fname);

/* -- the openers of the other files (runtime.c calls every one) -- */
void alua__open_addr(lua_State *L, rt *r, int module, int internals);
void alua__open_server(lua_State *L, rt *r, int module, int internals);
void alua__open_udp(lua_State *L, rt *r, int module, int internals);
void alua__open_process(lua_State *L, rt *r, int module, int internals);
void alua__open_file(lua_State *L, rt *r, int module, int internals);
void alua__open_dns(lua_State *L, rt *r, int module, int internals);
void alua__open_tls(lua_State *L, rt *r, int module, int internals);

#endif

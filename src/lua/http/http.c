/* The HTTP client's C half (lib/asyncio/http.lua is the other): libcurl's
 * multi-socket interface driven by alua's loop, and the transfers.
 *
 * A multi (one per asyncio.http.Client) owns a curl multi handle: its
 * connection pool, HTTP/1.1 keep-alive and HTTP/2 multiplexing are curl's.
 * curl tells us which sockets to watch (socket callback: each becomes an
 * ac_io watcher) and when to call it back (timer callback: one ac_timer);
 * when a watcher or the timer fires we hand the event to
 * curl_multi_socket_action and then collect the transfers that finished.
 * No thread per request; no polling.
 *
 * A transfer (one request and its response) collects the header lines of
 * each response curl passes through (redirects, 1xx) until the final one,
 * then the body into a buffer. Tasks wait on it through operations, as on
 * streams: headers, read(n) and read-all; they park on the transfer and
 * curl's callbacks wake them. curl's callbacks never run Lua: they only
 * append to buffers and wake tasks.
 *
 * Flow control: when the body buffer holds BODY_HIGH bytes and nobody
 * reads it all, the write callback pauses the transfer (the kernel's
 * buffers then push back on the server); a read that takes the buffer
 * below BODY_LOW, or a task waiting for data, resumes it.
 *
 * Lifetime: a running transfer is anchored in the loop. It ends when curl
 * reports it done (its connection goes back to the pool), or when it is
 * aborted: cancelling the task waiting on it, closing the response, or
 * closing the client takes it out of the multi at once, which closes its
 * connection if the response was not complete. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/tls.h"
#include "lua/http/curl.h"

/* the one certificate check code this file needs (OpenSSL's x509_vfy.h) */
#define X509_V_ERR_UNSPECIFIED 1
#include "lua/internal.h"

#define C alua__curl

#define MT_MULTI "asyncio.http.Multi"
#define MT_XFER "asyncio.http.Transfer"
#define MT_XOP "asyncio.http.Transfer operation"

/* The body buffer's flow-control marks (bytes). */
#define BODY_HIGH (256 * 1024)
#define BODY_LOW (64 * 1024)
/* Easy handles a multi keeps for reuse. */
#define SPARE_MAX 64

/* Uservalues of a transfer and of its operation. */
enum { XUV_MULTI = 1, XUV_LABEL, XUV_FNAME, XUV_BODY, XUV_OP, XUV_N = XUV_OP };
enum { OUV_XFER = 1, OUV_FNAME, OUV_N = OUV_FNAME };

typedef struct lmulti {
  lloop *lp;                /* loop the client belongs to */
  CURLM *multi;             /* NULL once closed */
  ac_timer timer;           /* when curl wants to be called back */
  ac_list socks;            /* watched sockets (hsock.link) */
  ac_list xfers;            /* running transfers (xfer.link) */
  CURL *spare[SPARE_MAX];   /* reset easy handles, kept for the next requests */
  int nspare;               /* entries of spare in use */
  uint8_t unwatched;        /* sock_cb failed to watch a transfer's socket (see check_done) */
} lmulti;

/* A socket curl asked us to watch. */
typedef struct hsock {
  ac_io io;                 /* its watcher */
  lmulti *m;                /* the multi it belongs to */
  ac_list link;             /* in m->socks */
} hsock;

enum { X_RUNNING, X_DONE, X_ABORTED };
enum { OP_HEADERS, OP_READ, OP_ALL };
static const char *const op_names[] = {"headers", "read", "read all"};

typedef struct xfer {
  CURL *easy;               /* NULL once released */
  lmulti *m;                /* its multi (also uservalue XUV_MULTI) */
  ac_list link;             /* in m->xfers while running */
  ac_buf body;              /* received body, not read yet */
  ac_buf head;              /* header lines of the current response, "\n"-separated */
  ac_list waiters;          /* the task waiting on it (one at most) */
  struct curl_slist *hdrs;  /* request headers */
  char *url;                /* effective URL once the final headers came (malloc'd) */
  char method[16];          /* the final request's method (a 303 turns POST into GET) */
  const char *abort_why;    /* why it was aborted (static text) */
  double timeout;           /* the request's total timeout (s), for messages */
  int anchor;               /* ref in the loop while running, or LUA_NOREF */
  int result;               /* curl's CURLcode once done */
  int oserr;                /* errno curl saw when it failed */
  /* errno of a failure on alua's side, 0 for none: memory for the body, the
   * header lines or a socket's watcher, or a watcher the kernel refused.
   * curl then fails the transfer (or check_done ends it), and reads raise
   * OSError with it rather than curl's view of the failure. */
  int own_err;
  long verify;              /* the certificate check's result when it failed */
  long status;              /* status of the final response */
  long version;             /* CURL_HTTP_VERSION_* of the final response */
  uint8_t state;            /* X_* */
  uint8_t headers_done;     /* the final response's headers are complete */
  uint8_t has_location;     /* the current response has a Location header */
  uint8_t follow;           /* redirects are followed */
  uint8_t paused;           /* the write callback paused the transfer */
  uint8_t waiting;          /* OP_* + 1 of the parked task, 0 when none */
  uint8_t read_all;         /* a task waits for the whole body: never pause */
  uint8_t owns;             /* its multi was made for it alone: close it with the transfer */
  char errbuf[CURL_ERROR_SIZE]; /* curl's description of a failure */
} xfer;

/* An operation on a transfer; kind and n move to the stack when awaited. */
typedef struct xop {
  alua__awop awop;          /* first, as in every operation (ops.c); internal: never handed out */
  uint8_t kind;             /* OP_* */
  uint8_t armed;            /* handed out and not awaited yet */
  lua_Integer n;            /* read size */
  xfer *x;                  /* the transfer (also uservalue OUV_XFER) */
} xop;

/* -- the multi and the loop ------------------------------------------------------ */

static void check_done(lmulti *m);

/* A watched socket is ready: curl reads or writes it. */
static void on_sock(ac_io *io, uint32_t revents) {
  hsock *h = ac_container_of(io, hsock, io);
  lmulti *m = h->m;
  int flags = 0, running;
  if (revents & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
  if (revents & EPOLLOUT) flags |= CURL_CSELECT_OUT;
  if (revents & EPOLLERR) flags |= CURL_CSELECT_ERR;
  /* h may be freed inside (curl drops the socket): nothing of it is used after */
  C.curl_multi_socket_action(m->multi, io->fd, flags, &running);
  check_done(m);
}

static void on_timer(ac_timer *t) {
  lmulti *m = ac_container_of(t, lmulti, timer);
  int running;
  C.curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(m);
}

static void drop_sock(lmulti *m, hsock *h) {
  if (!m->lp->closed) ac_io_stop(&m->lp->core, &h->io);
  ac_list_remove(&h->link);
  free(h);
}

/* The socket of transfer e could not be watched (err): the transfer fails
 * when curl returns (check_done). Why not return -1 to curl: that marks
 * the whole multi dead, and a transfer whose socket nobody watches would
 * then wait for an event that never comes. -1 only when e is no transfer
 * of ours. */
static int unwatched(lmulti *m, CURL *e, int err) {
  xfer *x = NULL;
  if (e) C.curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
  if (!x) return -1;
  x->own_err = err;
  m->unwatched = 1;
  return 0;
}

/* curl's socket callback: watch s for what it needs, or stop. */
static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
  lmulti *m = userp;
  hsock *h = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (h) {
      C.curl_multi_assign(m->multi, s, NULL);
      drop_sock(m, h);
    }
    return 0;
  }
  if (m->lp->closed) return -1;
  if (!h) {
    h = malloc(sizeof *h);
    if (!h) return unwatched(m, e, ENOMEM);
    ac_io_init(&h->io, s, on_sock);
    h->m = m;
    ac_list_push_back(&m->socks, &h->link);
    C.curl_multi_assign(m->multi, s, h);
  }
  uint32_t ev = 0;
  if (what & CURL_POLL_IN) ev |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev |= EPOLLOUT;
  int err = ac_io_start(&m->lp->core, &h->io, ev);
  return err < 0 ? unwatched(m, e, -err) : 0;
}

/* curl's timer callback: call it back in ms milliseconds (-1: never). */
static int timer_cb(CURLM *multi, long ms, void *userp) {
  lmulti *m = userp;
  (void)multi;
  if (m->lp->closed) return -1;
  if (ms < 0) {
    ac_loop_timer_stop(&m->lp->core, &m->timer);
    return 0;
  }
  uint64_t now = ac_loop_update_time(&m->lp->core);
  ac_loop_timer_start(&m->lp->core, &m->timer, now + (uint64_t)ms * 1000000u);
  return 0;
}

/* -- transfers: curl's side ---------------------------------------------------- */

/* Wakes the task parked on x if it waits for `kind` (any kind for -1). */
static void wake(xfer *x, int kind) {
  if (x->waiting && (kind < 0 || x->waiting == kind + 1)) alua__wake_first(&x->waiters);
}

/* The final response's headers are complete: remember where it came from.
 * -1 (own_err set, the headers not complete) when memory ran out. */
static int headers_complete(xfer *x) {
  const char *url = NULL;
  C.curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
  free(x->url);
  x->url = url ? strdup(url) : NULL;
  if (url && !x->url) {
    x->own_err = ENOMEM;
    return -1;
  }
  x->headers_done = 1;
  C.curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  C.curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &x->version);
  const char *method = NULL;
  C.curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_METHOD, &method);
  snprintf(x->method, sizeof x->method, "%s", method ? method : "");
  wake(x, OP_HEADERS);
  return 0;
}

/* One header line of some response (status line, fields, blank end). */
static size_t header_cb(char *p, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  size_t len = size * n, total = len;
  if (x->headers_done) return total; /* trailers */
  while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response */
    ac_buf_reset(&x->head, 4096);
    x->has_location = 0;
    return total;
  }
  if (len == 0) { /* its end: final unless curl goes on to another one */
    long code = 0;
    C.curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    int redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    if ((code >= 100 && code < 200) || (redirect && x->follow && x->has_location)) return total;
    return headers_complete(x) < 0 ? 0 : total;
  }
  if (len >= 9 && strncasecmp(p, "location:", 9) == 0) x->has_location = 1;
  if ((ac_buf_len(&x->head) && ac_buf_append(&x->head, "\n", 1) < 0) || ac_buf_append(&x->head, p, len) < 0) {
    x->own_err = ENOMEM;
    return 0; /* curl fails the transfer */
  }
  return total;
}

/* Body bytes: buffered, or refused while the buffer is full. */
static size_t write_cb(char *p, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  size_t len = size * n;
  if (!x->headers_done && headers_complete(x) < 0) return 0;
  if (!x->read_all && ac_buf_len(&x->body) >= BODY_HIGH) {
    x->paused = 1;
    return CURL_WRITEFUNC_PAUSE; /* curl keeps these bytes and passes them again */
  }
  if (ac_buf_append(&x->body, p, len) < 0) {
    x->own_err = ENOMEM;
    return 0; /* curl fails the transfer */
  }
  wake(x, OP_READ);
  return len;
}

/* -- transfers: ending --------------------------------------------------------- */

/* Gives x's easy handle back (to the spare list, or to curl). */
static void release_easy(xfer *x) {
  if (!x->easy) return;
  lmulti *m = x->m;
  if (m->multi && m->nspare < SPARE_MAX) {
    C.curl_easy_reset(x->easy);
    m->spare[m->nspare++] = x->easy;
  } else {
    C.curl_easy_cleanup(x->easy);
  }
  x->easy = NULL;
  C.curl_slist_free_all(x->hdrs);
  x->hdrs = NULL;
}

static void unanchor(xfer *x, lua_State *L) {
  if (x->anchor == LUA_NOREF) return;
  lloop *lp = x->m->lp;
  if (!L) L = lp->L;
  if (!L || lp->closed) return;
  alua__unanchor(L, lp, x->anchor);
  x->anchor = LUA_NOREF;
}

/* curl finished x with result rc: its connection is back in the pool. */
static void finish(xfer *x, CURLcode rc) {
  lmulti *m = x->m;
  x->result = rc;
  if (rc != CURLE_OK) {
    long err = 0;
    C.curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &err);
    x->oserr = (int)err;
    C.curl_easy_getinfo(x->easy, CURLINFO_SSL_VERIFYRESULT, &x->verify);
  } else if (!x->headers_done && headers_complete(x) < 0) {
    x->result = CURLE_OUT_OF_MEMORY;
  }
  C.curl_multi_remove_handle(m->multi, x->easy);
  ac_list_remove(&x->link);
  x->state = X_DONE;
  x->paused = 0;
  wake(x, -1);
  unanchor(x, NULL);
}

/* After curl ran: ends the transfers curl finished, and those whose
 * socket could not be watched (own_err set by sock_cb), which curl would
 * otherwise wait on forever. */
static void check_done(lmulti *m) {
  CURLMsg *msg;
  int left;
  while (m->multi && (msg = C.curl_multi_info_read(m->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    xfer *x = NULL;
    C.curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x && x->state == X_RUNNING) finish(x, msg->data.result);
  }
  if (!m->unwatched) return;
  m->unwatched = 0;
  for (ac_list *p = m->xfers.next; m->multi && p != &m->xfers;) {
    xfer *x = ac_container_of(p, xfer, link);
    p = p->next; /* finish takes x off the list */
    if (x->own_err) finish(x, CURLE_OUT_OF_MEMORY);
  }
}

/* Stops x now (why: for later reads' errors): out of the multi, which
 * closes its connection unless the response was complete. */
static void abort_xfer(xfer *x, lua_State *L, const char *why) {
  if (x->state == X_RUNNING) {
    if (x->m->multi) C.curl_multi_remove_handle(x->m->multi, x->easy);
    ac_list_remove(&x->link);
    x->state = X_ABORTED;
    x->abort_why = why;
    x->paused = 0;
    wake(x, -1);
  }
  unanchor(x, L);
}

/* -- the multi's Lua side ------------------------------------------------------- */

static lmulti *checkmulti(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_MULTI); }

static void multi_close(lmulti *m, lua_State *L);

/* The transfer is over for its user (read to the end, closed or
 * collected): a multi made for it alone closes too. */
static void xfer_over(xfer *x, lua_State *L) {
  release_easy(x);
  if (x->owns) multi_close(x->m, L);
}

/* Aborts every transfer and closes the pool's connections. L may be NULL
 * (finalizer at state close). */
static void multi_close(lmulti *m, lua_State *L) {
  if (!m->multi) return;
  while (!ac_list_empty(&m->xfers)) {
    xfer *x = ac_container_of(m->xfers.next, xfer, link);
    abort_xfer(x, L, "the client was closed");
  }
  for (int i = 0; i < m->nspare; i++) C.curl_easy_cleanup(m->spare[i]);
  m->nspare = 0;
  C.curl_multi_cleanup(m->multi);
  m->multi = NULL;
  while (!ac_list_empty(&m->socks)) drop_sock(m, ac_container_of(m->socks.next, hsock, link));
  if (!m->lp->closed) ac_loop_timer_stop(&m->lp->core, &m->timer);
}

static int multi_gc(lua_State *L) {
  multi_close(alua__gc_self(L), NULL);
  return 0;
}

/* multi:close(): aborts what runs, closes every connection. */
static int multi_close_l(lua_State *L) {
  multi_close(checkmulti(L, 1), L);
  return 0;
}

static int multi_tostring(lua_State *L) {
  lmulti *m = checkmulti(L, 1);
  int n = 0;
  for (ac_list *p = m->xfers.next; p != &m->xfers; p = p->next) n++;
  if (!m->multi) lua_pushliteral(L, "<http multi closed>");
  else {
    int socks = 0;
    for (ac_list *p = m->socks.next; p != &m->socks; p = p->next) socks++;
    lua_pushfstring(L, "<http multi transfers=%d sockets=%d>", n, socks);
  }
  return 1;
}

/* Raises "fname: cannot use HTTP: <why libcurl is missing>" unless loaded. */
static void need_curl(lua_State *L, const char *fname) {
  char err[256];
  if (alua__curl_load(err, sizeof err) < 0) alua__user_error(L, "%s: HTTP is not available: %s", fname, err);
}

/* internals.http_multi(max_connections): a new multi on the running loop. */
static int l_http_multi(lua_State *L) {
  rt *r = alua__rt(L);
  lua_Integer maxconn = luaL_checkinteger(L, 1);
  need_curl(L, "Client");
  lloop *lp = alua__push_current_loop(L, r);
  lmulti *m = lua_newuserdatauv(L, sizeof *m, 1);
  memset(m, 0, sizeof *m);
  m->lp = lp;
  ac_timer_init(&m->timer, on_timer);
  ac_list_init(&m->socks);
  ac_list_init(&m->xfers);
  luaL_setmetatable(L, MT_MULTI);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, 1); /* the loop */
  m->multi = C.curl_multi_init();
  if (!m->multi) return luaL_error(L, "not enough memory");
  C.curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
  C.curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
  C.curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  C.curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
  if (maxconn > 0) {
    C.curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)maxconn);
    C.curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)maxconn);
  }
  return 1;
}

/* -- starting a transfer --------------------------------------------------------- */

static xfer *checkxfer(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_XFER); }

/* The string field key of the spec at 2, or NULL. */
static const char *spec_string(lua_State *L, const char *key) {
  const char *s = lua_getfield(L, 2, key) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1); /* the spec keeps it alive */
  return s;
}

static double spec_number(lua_State *L, const char *key) {
  lua_getfield(L, 2, key);
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static int spec_flag(lua_State *L, const char *key, int def) {
  int t = lua_getfield(L, 2, key);
  int v = t == LUA_TNIL ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* internals.http_start(multi, spec): starts a transfer. spec (checked by
 * http.lua): method, url, headers (list of "Name: value"), body, timeout,
 * connect_timeout (s), follow, max_redirects, decompress, http_version
 * ("1.1", "2", "2-prior-knowledge"), verify, ca_file, ca_path, cert, key,
 * fname (the user's function, for errors), owns_multi (the multi was made
 * for this transfer: it closes when the transfer is over). */
static int l_http_start(lua_State *L) {
  lmulti *m = checkmulti(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  const char *method = spec_string(L, "method");
  const char *url = spec_string(L, "url");
  const char *fname = spec_string(L, "fname");
  if (!method || !url || !fname) return luaL_error(L, "http_start: bad spec");
  if (!m->multi) return alua__user_error(L, "%s: the client is closed", fname);
  if (m->lp->closed) return alua__user_error(L, "%s: event loop is closed", fname);
  xfer *x = lua_newuserdatauv(L, sizeof *x, XUV_N);
  int xidx = lua_gettop(L);
  memset(x, 0, sizeof *x);
  x->m = m;
  x->anchor = LUA_NOREF;
  x->state = X_DONE; /* nothing to undo until it runs */
  ac_buf_init(&x->body);
  ac_buf_init(&x->head);
  ac_list_init(&x->waiters);
  ac_list_init(&x->link);
  luaL_setmetatable(L, MT_XFER);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, xidx, XUV_MULTI);
  lua_pushfstring(L, "%s %s", method, url);
  lua_setiuservalue(L, xidx, XUV_LABEL);
  lua_pushstring(L, fname);
  lua_setiuservalue(L, xidx, XUV_FNAME);

  x->easy = m->nspare ? m->spare[--m->nspare] : C.curl_easy_init();
  if (!x->easy) return luaL_error(L, "not enough memory");
  CURL *e = x->easy;
  C.curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
  C.curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  C.curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  C.curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  C.curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  C.curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  C.curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  C.curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  C.curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  C.curl_easy_setopt(e, CURLOPT_USERAGENT, "alua");
  if (C.curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) return luaL_error(L, "not enough memory");

  /* the method, and the body (which the transfer keeps alive) */
  size_t blen = 0;
  const char *body = NULL;
  if (lua_getfield(L, 2, "body") == LUA_TSTRING) body = lua_tolstring(L, -1, &blen);
  lua_setiuservalue(L, xidx, XUV_BODY);
  if (strcmp(method, "GET") == 0 && !body) {
    C.curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    C.curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(method, "POST") != 0) C.curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body || strcmp(method, "POST") == 0) {
      C.curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
      C.curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    }
  }

  /* headers; "Expect:" stops curl from waiting for "100 Continue" */
  int ok = (x->hdrs = C.curl_slist_append(NULL, "Expect:")) != NULL;
  if (lua_getfield(L, 2, "headers") == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; ok && i <= n; i++) {
      lua_geti(L, -1, i);
      struct curl_slist *more = C.curl_slist_append(x->hdrs, lua_tostring(L, -1));
      if (more) x->hdrs = more;
      else ok = 0;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (!ok) return luaL_error(L, "not enough memory"); /* the finalizer frees the list */
  C.curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);

  x->owns = (uint8_t)spec_flag(L, "owns_multi", 0);
  x->follow = (uint8_t)spec_flag(L, "follow", 1);
  C.curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, (long)x->follow);
  lua_getfield(L, 2, "max_redirects");
  C.curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)luaL_optinteger(L, -1, 10));
  lua_pop(L, 1);
  if (spec_flag(L, "decompress", 1)) C.curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  x->timeout = spec_number(L, "timeout");
  if (x->timeout > 0) C.curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(x->timeout * 1000 + 0.5));
  double ct = spec_number(L, "connect_timeout");
  if (ct > 0) C.curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(ct * 1000 + 0.5));
  const char *v = spec_string(L, "http_version");
  long hv = CURL_HTTP_VERSION_2TLS;
  if (v && strcmp(v, "1.1") == 0) hv = CURL_HTTP_VERSION_1_1;
  else if (v && strcmp(v, "2-prior-knowledge") == 0) hv = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  C.curl_easy_setopt(e, CURLOPT_HTTP_VERSION, hv);

  /* TLS */
  int verify = spec_flag(L, "verify", 1);
  C.curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, (long)verify);
  C.curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if ((v = spec_string(L, "ca_file"))) C.curl_easy_setopt(e, CURLOPT_CAINFO, v);
  if ((v = spec_string(L, "ca_path"))) C.curl_easy_setopt(e, CURLOPT_CAPATH, v);
  if ((v = spec_string(L, "cert"))) C.curl_easy_setopt(e, CURLOPT_SSLCERT, v);
  if ((v = spec_string(L, "key"))) C.curl_easy_setopt(e, CURLOPT_SSLKEY, v);

  if (C.curl_multi_add_handle(m->multi, e) != CURLM_OK) {
    release_easy(x);
    return luaL_error(L, "%s: cannot start the transfer", fname);
  }
  x->state = X_RUNNING;
  ac_list_push_back(&m->xfers, &x->link);
  x->anchor = alua__anchor(L, m->lp, xidx);
  lua_settop(L, xidx);
  return 1;
}

/* -- transfer operations --------------------------------------------------------- */

/* Pushes the error of x's failure, its message naming fname. */
static void push_failure(lua_State *L, xfer *x, int xidx, const char *fname) {
  rt *r = alua__rt(L);
  lua_getiuservalue(L, xidx, XUV_LABEL);
  const char *label = lua_tostring(L, -1);
  char what[512];
  snprintf(what, sizeof what, "%s: %s", fname, label);
  const char *why = x->errbuf[0] ? x->errbuf : C.curl_easy_strerror((CURLcode)x->result);
  const char *cls = "HTTPError";
  if (x->own_err && x->state != X_ABORTED) {
    alua__push_oserror(L, x->own_err, what, NULL);
  } else if (x->state == X_ABORTED) {
    lua_pushfstring(L, "%s: %s", what, x->abort_why);
    alua__push_error(L, r, cls, lua_tostring(L, -1));
    lua_pushstring(L, x->abort_why);
    lua_setfield(L, -2, "reason");
  } else {
    switch (x->result) {
    case CURLE_OPERATION_TIMEDOUT:
      if (x->timeout > 0) lua_pushfstring(L, "%s: timed out after %f s", what, (lua_Number)x->timeout);
      else lua_pushfstring(L, "%s: %s", what, why);
      alua__push_error(L, r, "TimeoutError", lua_tostring(L, -1));
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT: {
      /* curl checks the host name itself, and leaves "unspecified" (1)
       * when OpenSSL's check did not run or passed */
      const char *vmsg = x->verify > X509_V_ERR_UNSPECIFIED ? ac_tls_verify_string(x->verify) : NULL;
      if (vmsg) lua_pushfstring(L, "%s: certificate verify failed: %s", what, vmsg);
      else lua_pushfstring(L, "%s: %s", what, why);
      alua__push_error(L, r, "SSLError", lua_tostring(L, -1));
      lua_pushstring(L, why);
      lua_pushvalue(L, -1);
      lua_setfield(L, -3, "reason");
      lua_setfield(L, -2, "strerror");
      lua_pushinteger(L, EPROTO); /* an OSError, as SSLError is */
      lua_setfield(L, -2, "errno");
      if (vmsg) {
        lua_pushinteger(L, x->verify);
        lua_setfield(L, -2, "verify_code");
        lua_pushstring(L, vmsg);
        lua_setfield(L, -2, "verify_message");
      }
      break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      if (x->oserr > 0) {
        alua__push_oserror(L, x->oserr, what, NULL);
      } else {
        lua_pushfstring(L, "%s: %s", what, why);
        alua__push_error(L, r, "OSError", lua_tostring(L, -1));
        lua_pushstring(L, why);
        lua_setfield(L, -2, "strerror");
        lua_pushinteger(L, 0);
        lua_setfield(L, -2, "errno");
      }
      break;
    default:
      lua_pushfstring(L, "%s: %s", what, why);
      alua__push_error(L, r, cls, lua_tostring(L, -1));
      lua_pushstring(L, why);
      lua_setfield(L, -2, "reason");
      lua_pushinteger(L, x->result);
      lua_setfield(L, -2, "curl_code");
      break;
    }
  }
  /* every error says which request failed */
  lua_getiuservalue(L, xidx, XUV_LABEL);
  const char *sp = strchr(lua_tostring(L, -1), ' ');
  lua_pushlstring(L, lua_tostring(L, -1), (size_t)(sp - lua_tostring(L, -1)));
  lua_setfield(L, -3, "method");
  lua_pushstring(L, sp + 1);
  lua_setfield(L, -3, "url");
  lua_pop(L, 1);
}

/* Takes n body bytes (pushed); resumes a paused transfer once the buffer
 * is low, and gives the easy handle back once everything was read. */
static void take(lua_State *L, xfer *x, size_t n) {
  lua_pushlstring(L, ac_buf_head(&x->body), n);
  ac_buf_consume(&x->body, n);
  if (ac_buf_len(&x->body) == 0) ac_buf_reset(&x->body, BODY_HIGH);
  if (x->paused && ac_buf_len(&x->body) < BODY_LOW) {
    x->paused = 0;
    C.curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may pass the held bytes at once */
  }
  if (x->state == X_DONE && ac_buf_len(&x->body) == 0) xfer_over(x, L);
}

/* Pushes status, the flat list {name, value, ...}, the URL, the HTTP
 * version ("1.0", "1.1", "2", "3"), the method. */
static int push_headers(lua_State *L, xfer *x) {
  lua_pushinteger(L, x->status);
  lua_newtable(L);
  const char *p = ac_buf_len(&x->head) ? ac_buf_head(&x->head) : "", *end = p + ac_buf_len(&x->head);
  int i = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) nl = end;
    const char *colon = memchr(p, ':', (size_t)(nl - p));
    if ((*p == ' ' || *p == '\t') && i > 0) { /* an obsolete folded line continues the value */
      lua_rawgeti(L, -1, i);
      lua_pushliteral(L, " ");
      while (p < nl && (*p == ' ' || *p == '\t')) p++;
      lua_pushlstring(L, p, (size_t)(nl - p));
      lua_concat(L, 3);
      lua_rawseti(L, -2, i);
    } else if (colon) {
      const char *v = colon + 1, *ve = nl;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_pushlstring(L, p, (size_t)(colon - p));
      lua_rawseti(L, -2, ++i);
      lua_pushlstring(L, v, (size_t)(ve - v));
      lua_rawseti(L, -2, ++i);
    }
    p = nl + 1;
  }
  if (x->url) lua_pushstring(L, x->url);
  else lua_pushnil(L);
  switch (x->version) {
  case CURL_HTTP_VERSION_1_0: lua_pushliteral(L, "1.0"); break;
  case CURL_HTTP_VERSION_2_0: lua_pushliteral(L, "2"); break;
  case 30: lua_pushliteral(L, "3"); break; /* CURL_HTTP_VERSION_3 */
  default: lua_pushliteral(L, "1.1"); break;
  }
  if (x->method[0]) lua_pushstring(L, x->method);
  else lua_pushnil(L);
  return 5;
}

static int k_op(lua_State *L, int status, lua_KContext ctx);
static void op_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx);
/* Reports describe the wait by the transfer (slot 2: "<http transfer GET
 * https://... running>"). */
static const alua__waitclass wait_http = {.what = "http", .cancelled = op_cancelled, .slot = 2};

/* Tries operation kind on the stack [op, xfer, n, fname]: its results, an
 * error, or the task parks until the transfer moves on. */
static int do_op(lua_State *L, task *t, xfer *x, int kind, int first) {
  const char *fname = lua_tostring(L, 4);
  switch (kind) {
  case OP_HEADERS:
    if (x->headers_done) return push_headers(L, x);
    if (x->state != X_RUNNING) break;
    goto park;
  case OP_READ: {
    size_t len = ac_buf_len(&x->body);
    lua_Integer n = lua_tointeger(L, 3);
    if (n == 0) {
      lua_pushliteral(L, "");
      return 1;
    }
    if (len > 0) {
      take(L, x, (lua_Integer)len < n ? len : (size_t)n);
      return 1;
    }
    if (x->state == X_DONE && x->result == CURLE_OK) {
      lua_pushliteral(L, "");
      return 1;
    }
    if (x->state != X_RUNNING) break;
    goto park;
  }
  default: /* OP_ALL */
    if (x->state == X_DONE && x->result == CURLE_OK) {
      take(L, x, ac_buf_len(&x->body));
      return 1;
    }
    if (x->state != X_RUNNING) break;
    x->read_all = 1;
    goto park;
  }
  push_failure(L, x, 2, fname);
  return lua_error(L);
park:
  if (first) {
    if (x->waiting) return alua__user_error(L, "%s: another task is already waiting on this response", fname);
    if (x->m->lp != t->f.loop) return alua__user_error(L, "%s: the response belongs to another event loop", fname);
  }
  if (x->paused) { /* someone wants the data now */
    x->paused = 0;
    C.curl_easy_pause(x->easy, CURLPAUSE_CONT);
    if (ac_buf_len(&x->body) && kind == OP_READ) return do_op(L, t, x, kind, 0);
  }
  x->waiting = (uint8_t)(kind + 1);
  return alua__park(L, t, &x->waiters, &wait_http, x, kind, k_op);
}

/* A waiting task was cancelled (or its timeout scope ran out): the
 * transfer stops at once and its connection is freed. */
static void op_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  xfer *x = on;
  x->waiting = 0;
  abort_xfer(x, L, "the request was cancelled");
  release_easy(x);
}

static int k_op(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  xfer *x = lua_touserdata(L, 2);
  x->waiting = 0;
  return do_op(L, t, x, (int)ctx, 0);
}

/* The await hook of transfer operations: stack [op]. */
static int op_await(lua_State *L) {
  xop *o = lua_touserdata(L, 1);
  if (!o->armed) return alua__user_error(L, "%s: this operation was already awaited", op_names[o->kind]);
  o->armed = 0;
  task *t = alua__current_task(L, alua__rt(L));
  lua_getiuservalue(L, 1, OUV_XFER);
  lua_pushinteger(L, o->n);
  lua_getiuservalue(L, 1, OUV_FNAME);
  return do_op(L, t, o->x, o->kind, 1);
}

/* Pushes an operation of kind on the transfer at 1 (its own one, unless
 * that one is handed out and not awaited yet). */
static int push_op(lua_State *L, xfer *x, int kind, lua_Integer n, int fnameidx) {
  xop *o = NULL;
  int have = lua_getiuservalue(L, 1, XUV_OP) == LUA_TUSERDATA;
  if (have && !((xop *)lua_touserdata(L, -1))->armed) o = lua_touserdata(L, -1);
  if (!o) {
    lua_pop(L, 1);
    o = lua_newuserdatauv(L, sizeof *o, OUV_N);
    alua__awop_init(&o->awop, alua__rt(L));
    o->x = x;
    luaL_setmetatable(L, MT_XOP);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, OUV_XFER);
    if (!have) {
      lua_pushvalue(L, -1);
      lua_setiuservalue(L, 1, XUV_OP);
    }
  }
  o->kind = (uint8_t)kind;
  o->n = n;
  o->armed = 1;
  lua_pushvalue(L, fnameidx);
  lua_setiuservalue(L, -2, OUV_FNAME);
  return 1;
}

/* xfer:headers(fname): awaitable status, header list, URL, version,
 * method. */
static int x_headers(lua_State *L) {
  xfer *x = checkxfer(L, 1);
  luaL_checkstring(L, 2);
  return push_op(L, x, OP_HEADERS, 0, 2);
}

/* xfer:read(n, fname): awaitable of up to n body bytes ("" at the end). */
static int x_read(lua_State *L) {
  xfer *x = checkxfer(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_checkstring(L, 3);
  if (n < 0) return luaL_argerror(L, 2, "size must not be negative");
  return push_op(L, x, OP_READ, n, 3);
}

/* xfer:read_all(fname): awaitable of the rest of the body. */
static int x_read_all(lua_State *L) {
  xfer *x = checkxfer(L, 1);
  luaL_checkstring(L, 2);
  return push_op(L, x, OP_ALL, 0, 2);
}

/* xfer:close(): stops the transfer if it runs; drops what was buffered. */
static int x_close(lua_State *L) {
  xfer *x = checkxfer(L, 1);
  if (x->state == X_ABORTED && x->easy == NULL) return 0; /* closed already */
  abort_xfer(x, L, "the response was closed");
  x->state = X_ABORTED; /* also when it was complete: reads after close fail */
  if (x->abort_why == NULL) x->abort_why = "the response was closed";
  ac_buf_free(&x->body);
  xfer_over(x, L);
  return 0;
}

/* xfer:done(): true once the whole body arrived (or the transfer ended). */
static int x_done(lua_State *L) {
  lua_pushboolean(L, checkxfer(L, 1)->state != X_RUNNING);
  return 1;
}

/* xfer:buffered(): body bytes received and not read yet. */
static int x_buffered(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ac_buf_len(&checkxfer(L, 1)->body));
  return 1;
}

static int x_gc(lua_State *L) {
  xfer *x = alua__gc_self(L);
  if (x->state == X_RUNNING && x->m->multi) {
    C.curl_multi_remove_handle(x->m->multi, x->easy);
    ac_list_remove(&x->link);
    x->state = X_ABORTED;
  }
  xfer_over(x, NULL);
  ac_buf_free(&x->body);
  ac_buf_free(&x->head);
  free(x->url);
  x->url = NULL;
  return 0;
}

static int x_tostring(lua_State *L) {
  xfer *x = checkxfer(L, 1);
  lua_getiuservalue(L, 1, XUV_LABEL);
  static const char *const states[] = {"running", "done", "aborted"};
  lua_pushfstring(L, "<http transfer %s %s>", lua_tostring(L, -1), states[x->state]);
  return 1;
}

/* -- helpers ------------------------------------------------------------------------ */

/* Protected: pushes the string at light userdata 1. */
static int push_string_p(lua_State *L) {
  lua_pushstring(L, lua_touserdata(L, 1));
  return 1;
}

/* internals.http_join(base, url): url resolved against base (RFC 3986,
 * by curl's URL parser), or nil and curl's reason. */
static int l_http_join(lua_State *L) {
  const char *base = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  need_curl(L, "Client");
  CURLU *u = C.curl_url();
  if (!u) return luaL_error(L, "not enough memory");
  char *out = NULL;
  CURLUcode rc = C.curl_url_set(u, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME);
  if (rc == CURLUE_OK) rc = C.curl_url_set(u, CURLUPART_URL, rel, CURLU_NON_SUPPORT_SCHEME);
  if (rc == CURLUE_OK) rc = C.curl_url_get(u, CURLUPART_URL, &out, 0);
  C.curl_url_cleanup(u);
  if (rc != CURLUE_OK) {
    lua_pushnil(L);
    lua_pushliteral(L, "not a valid URL");
    return 2;
  }
  /* curl's string is freed whether pushing it runs out of memory or not */
  lua_pushcfunction(L, push_string_p);
  lua_pushlightuserdata(L, out);
  int status = lua_pcall(L, 1, 1, 0);
  C.curl_free(out);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

/* lua-cjson's library, opened on first use like libcurl: the name Debian's
 * lua-cjson gives it (lib<lua>-<module>.so.0), or its development link. */
static const char *const cjson_names[] = {"liblua5.4-cjson.so.0", "liblua5.4-cjson.so", NULL};
static pthread_once_t cjson_once = PTHREAD_ONCE_INIT;
static lua_CFunction cjson_open; /* its luaopen_cjson, NULL if it cannot be loaded */
static char cjson_error[256];    /* why not */

static void load_cjson(void) {
  for (int i = 0; cjson_names[i]; i++) {
    void *h = dlopen(cjson_names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      if (i == 0) snprintf(cjson_error, sizeof cjson_error, "%s", dlerror());
      continue;
    }
    *(void **)&cjson_open = dlsym(h, "luaopen_cjson");
    if (cjson_open) return;
    snprintf(cjson_error, sizeof cjson_error, "%s has no luaopen_cjson", cjson_names[i]);
  }
}

/* internals.cjson(): a new instance of lua-cjson's module (its settings
 * are its own, apart from a program's require "cjson"). */
static int l_cjson(lua_State *L) {
  pthread_once(&cjson_once, load_cjson);
  if (!cjson_open) return alua__user_error(L, "JSON is not available: %s", cjson_error);
  lua_pushcfunction(L, cjson_open);
  lua_call(L, 0, 1);
  return 1;
}

void alua__open_http(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg multi_methods[] = {
      {"close", multi_close_l}, {"__gc", multi_gc}, {"__tostring", multi_tostring}, {NULL, NULL}};
  alua__newclass(L, r, MT_MULTI, multi_methods);
  lua_pop(L, 1);
  static const luaL_Reg xfer_methods[] = {{"headers", x_headers},
                                          {"read", x_read},
                                          {"read_all", x_read_all},
                                          {"close", x_close},
                                          {"done", x_done},
                                          {"buffered", x_buffered},
                                          {"__gc", x_gc},
                                          {"__tostring", x_tostring},
                                          {NULL, NULL}};
  alua__newclass(L, r, MT_XFER, xfer_methods);
  lua_pop(L, 1);
  static const char *const shown[] = {"headers", "read", "read_all"};
  alua__newopclass(L, r, MT_XOP, op_await, "http:", shown);
  static const luaL_Reg funcs[] = {
      {"http_multi", l_http_multi}, {"http_start", l_http_start}, {"http_join", l_http_join}, {"cjson", l_cjson},
      {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}

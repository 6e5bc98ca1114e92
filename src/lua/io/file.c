/* Files whose reads and writes run on the loop's worker pool: the C half of
 * asyncio.open (the File object, with its read formats, lines and
 * read-ahead buffer, is in lib/asyncio/streams.lua).
 *
 * internals.file_open(path, mode) and the methods _read, _write, _seek of the
 * handle it yields return futures of worker jobs. The descriptor lives in a
 * small reference-counted record shared by the handle and every job in
 * flight: closing the handle while a job still runs (one abandoned by a
 * cancelled task) only drops the handle's reference, and the descriptor is
 * closed when the last job ends, so a worker never reads a descriptor
 * number that was closed and reused meanwhile. Counts change on the loop
 * thread only. The system calls themselves are the core's (core/file.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "lua/io/io.h"

#define MT_FILEHANDLE "asyncio.FileHandle"

/* Most bytes one _read job returns. */
#define MAX_READ (16 * 1024 * 1024)

typedef struct fcore {
  int fd;    /* open descriptor */
  int refs;  /* the handle (until closed) plus jobs in flight */
} fcore;

typedef struct lfile {
  fcore *c;  /* NULL once closed */
} lfile;

static void unref(fcore *c) {
  if (--c->refs > 0) return;
  close(c->fd);
  free(c);
}

enum { J_OPEN, J_READ, J_WRITE, J_SEEK };

typedef struct fjob {
  alua__job job;   /* must be first */
  int kind;       /* J_* */
  fcore *c;       /* the file (not J_OPEN) */
  char *path;     /* J_OPEN: the path */
  int flags;      /* J_OPEN: open flags */
  int fd;         /* J_OPEN: the result, -1 if none or taken */
  char *data;     /* J_READ: bytes read; J_WRITE: bytes to write */
  size_t len;     /* J_READ: wanted, then got; J_WRITE: to write */
  off_t off;      /* J_SEEK: offset, then the new position */
  int whence;     /* J_SEEK */
  int err;        /* errno of a failure, or 0 */
} fjob;

/* Worker thread: one core call; a failure leaves its errno in j->err. */
static void work(alua__job *jb) {
  fjob *j = (fjob *)jb;
  ssize_t r;
  switch (j->kind) {
  case J_OPEN:
    r = ac_file_open(j->path, j->flags, 0666);
    if (r >= 0) j->fd = (int)r;
    break;
  case J_READ:
    r = ac_file_read(j->c->fd, j->data, j->len);
    if (r >= 0) j->len = (size_t)r;
    break;
  case J_WRITE:
    r = ac_file_write(j->c->fd, j->data, j->len);
    break;
  default:
    r = ac_file_seek(j->c->fd, j->off, j->whence);
    if (r >= 0) j->off = (off_t)r;
  }
  if (r < 0) j->err = (int)-r;
}

static void complete(lua_State *L, alua__job *jb, int futidx) {
  fjob *j = (fjob *)jb;
  static const char *const names[] = {"open", "read", "write", "seek"};
  if (j->err) {
    if (j->kind == J_OPEN) lua_pushfstring(L, "open: %s", j->path);
    else lua_pushstring(L, names[j->kind]);
    alua__push_oserror(L, j->err, lua_tostring(L, -1), NULL);
    lua_remove(L, -2);
    alua__future_set_error(L, futidx);
    return;
  }
  switch (j->kind) {
  case J_OPEN: {
    lfile *f = lua_newuserdatauv(L, sizeof *f, 0);
    f->c = NULL;
    luaL_setmetatable(L, MT_FILEHANDLE);
    fcore *c = malloc(sizeof *c);
    if (!c) luaL_error(L, "not enough memory"); /* j->fd is closed by release */
    c->fd = j->fd;
    c->refs = 1;
    f->c = c;
    j->fd = -1;
    break;
  }
  case J_READ:
    lua_pushlstring(L, j->data, j->len);
    break;
  case J_WRITE:
    lua_pushinteger(L, (lua_Integer)j->len);
    break;
  default:
    lua_pushinteger(L, (lua_Integer)j->off);
  }
  alua__future_set_result(L, futidx, 1);
}

static void release(alua__job *jb) {
  fjob *j = (fjob *)jb;
  if (j->fd >= 0) close(j->fd); /* opened for nobody */
  if (j->c) unref(j->c);
  free(j->path);
  free(j->data);
  free(j);
}

static fjob *newjob(lua_State *L, int kind) {
  fjob *j = calloc(1, sizeof *j);
  if (!j) luaL_error(L, "not enough memory");
  j->job.work = work;
  j->job.complete = complete;
  j->job.release = release;
  j->kind = kind;
  j->fd = -1;
  return j;
}

/* Submits j on the current loop's pool and pushes its future. */
static int submit(lua_State *L, fjob *j) {
  lloop *lp = alua__push_current_loop(L, alua__rt(L));
  lua_pop(L, 1);
  alua__executor_submit(L, lp, &j->job);
  return 1;
}

/* internals.file_open(path, mode): a future of a file handle. Modes as
 * io.open: r, w, a, r+, w+, a+, with an optional b; x creates exclusively. */
static int l_file_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  int flags;
  const char *m = mode;
  switch (*m++) {
  case 'r': flags = O_RDONLY; break;
  case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
  case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
  case 'x': flags = O_WRONLY | O_CREAT | O_EXCL; break;
  default: return alua__user_error(L, "bad argument #2 to 'open' (invalid mode '%s')", mode);
  }
  if (*m == '+') {
    m++;
    flags = (flags & ~(O_RDONLY | O_WRONLY)) | O_RDWR;
  }
  if (*m == 'b') m++;
  if (*m) return alua__user_error(L, "bad argument #2 to 'open' (invalid mode '%s')", mode);
  fjob *j = newjob(L, J_OPEN);
  j->flags = flags;
  if (!(j->path = strdup(path))) {
    release(&j->job);
    return luaL_error(L, "not enough memory");
  }
  return submit(L, j);
}

static fcore *checkopen(lua_State *L, const char *fname) {
  lfile *f = luaL_checkudata(L, 1, MT_FILEHANDLE);
  if (!f->c) alua__user_error(L, "%s: attempt to use a closed file", fname);
  return f->c;
}

/* handle:_read(n): a future of up to n bytes ("" at the end). */
static int fh_read(lua_State *L) {
  fcore *c = checkopen(L, "read");
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 0) return luaL_argerror(L, 2, "negative size");
  if (n > MAX_READ) n = MAX_READ;
  fjob *j = newjob(L, J_READ);
  j->len = (size_t)n;
  if (n > 0 && !(j->data = malloc((size_t)n))) {
    release(&j->job);
    return luaL_error(L, "not enough memory");
  }
  j->c = c;
  c->refs++;
  return submit(L, j);
}

/* handle:_write(s): a future of the byte count written (all of s). */
static int fh_write(lua_State *L) {
  fcore *c = checkopen(L, "write");
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  fjob *j = newjob(L, J_WRITE);
  /* a copy: the string may die before the worker is done with it */
  if (len && !(j->data = malloc(len))) {
    release(&j->job);
    return luaL_error(L, "not enough memory");
  }
  if (len) memcpy(j->data, s, len); /* data is NULL for "" */
  j->len = len;
  j->c = c;
  c->refs++;
  return submit(L, j);
}

/* handle:_seek(whence, offset): a future of the new position. */
static int fh_seek(lua_State *L) {
  fcore *c = checkopen(L, "seek");
  static const char *const whences[] = {"set", "cur", "end", NULL};
  static const int values[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  int whence = values[luaL_checkoption(L, 2, "cur", whences)];
  lua_Integer off = luaL_optinteger(L, 3, 0);
  fjob *j = newjob(L, J_SEEK);
  j->whence = whence;
  j->off = (off_t)off;
  j->c = c;
  c->refs++;
  return submit(L, j);
}

/* Closes f now, or when the last job in flight ends. */
static void fh_release(lfile *f) {
  if (f->c) {
    fcore *c = f->c;
    f->c = NULL;
    unref(c);
  }
}

/* handle:_close() */
static int fh_close(lua_State *L) {
  fh_release(luaL_checkudata(L, 1, MT_FILEHANDLE));
  return 0;
}

static int fh_gc(lua_State *L) {
  fh_release(alua__gc_self(L));
  return 0;
}

static int fh_fileno(lua_State *L) { return alua__retint(L, checkopen(L, "fileno")->fd); }

static int fh_closed(lua_State *L) {
  lfile *f = luaL_checkudata(L, 1, MT_FILEHANDLE);
  lua_pushboolean(L, f->c == NULL);
  return 1;
}

void alua__open_file(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"_read", fh_read},   {"_write", fh_write},   {"_seek", fh_seek},
                                     {"_close", fh_close}, {"fileno", fh_fileno}, {"_closed", fh_closed},
                                     {"__gc", fh_gc},      {NULL, NULL}};
  alua__newclass(L, r, MT_FILEHANDLE, methods);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"file_open", l_file_open}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  (void)module;
}

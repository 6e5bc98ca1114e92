/* The recorder behind traces and timelines, and per-task accounting.
 *
 * While lloop.observe is set (debug mode, or a recorder in the runtime),
 * every task step and every callback goes through the hooks below: the
 * task's steps, CPU time and time spent parked are counted, and a
 * recorder appends one slice per step or callback: real and loop times,
 * CPU time, the slice that caused it (the task or callback that woke the
 * task, completed what it awaited, or created it), and after a step what
 * the task then waits for. Slices are numbered through lloop.slice, which
 * wake-ups and completions copy (park.c, future.c): that is how a slice
 * knows its cause without any cost while nothing records.
 *
 * A recording ends as a Chrome trace-event file (Perfetto,
 * chrome://tracing) written here, or as data for the timeline that
 * lib/asyncio/observe.lua draws. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "lua/observe/observe.h"

#define MT_RECORDING "asyncio.Recording"

/* What a task did at the end of a step. */
enum { AFTER_READY, AFTER_WAIT, AFTER_DONE, AFTER_FAILED, AFTER_CANCELLED };
static const char *const after_names[] = {"ready", "waiting", "done", "failed", "cancelled"};

typedef struct rslice {
  uint64_t t0, t1; /* real time, ns since the recording started */
  uint64_t l0, l1; /* loop time, ns (continued across loops) */
  uint64_t cpu;    /* thread CPU time, ns */
  uint32_t track;  /* task track (1-based), or 0 for a callback */
  uint32_t cause;  /* slice (1-based) that caused it, 0 for none */
  int kind;        /* string: what it waits for after a step (its class), 0 none */
  int label;       /* string: that wait's description, or the callback's */
  uint8_t after;   /* AFTER_*, steps only */
  uint8_t open;    /* still running (the recording stopped inside it) */
} rslice;

typedef struct rtrack {
  int task_id;      /* the task's number */
  int name;         /* string: its name */
  uint32_t first;   /* its first slice (1-based) */
  uint32_t last;    /* its latest slice */
  alua__taskstats stats; /* accounting when it ended, or at the stop */
  uint8_t ended;    /* the task finished (last slice says how) */
} rtrack;

typedef struct alua__recorder {
  rt *r;               /* runtime recording */
  rslice *slices;      /* all slices, in start order */
  uint32_t nslices, capslices;
  rtrack *tracks;      /* task tracks, in order of first step */
  uint32_t ntracks, captracks;
  uint32_t gen;        /* stamps taskstats.rec of the tasks it numbered */
  uint32_t base;       /* lloop.slice of slice 1 is base + 1 */
  uint64_t real0;      /* ac_clock_ns() at the start */
  uint64_t real_end;   /* at the stop */
  lloop *lastloop;     /* loop of the latest slice */
  uint64_t offset;     /* added to that loop's time */
  uint64_t lmax;       /* latest loop time seen (with offset) */
  uint64_t lstart;     /* loop time at the start (with offset) */
  int ref_strings;     /* registry: {[i] = s, [s] = i} */
  int nstrings;
  int stopped;         /* no longer the runtime's recorder */
  int failed;          /* out of memory: slices were dropped */
} alua__recorder;

static uint32_t next_gen; /* generations of recorders in the process (stamps only) */

/* Slice numbers: lloop.slice = base + index + 2 (1 is ALUA_NO_SLICE). */
static rslice *slice_of(alua__recorder *rec, uint32_t number) {
  if (number < rec->base + 2) return NULL;
  uint32_t i = number - rec->base - 2;
  return i < rec->nslices ? &rec->slices[i] : NULL;
}

static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The loop time of lp on the recording's continued clock: a loop that
 * starts behind the latest time seen (a new loop on virtual time) goes on
 * from there. */
static uint64_t loop_time(alua__recorder *rec, lloop *lp) {
  uint64_t now = ac_loop_now(&lp->core);
  if (lp != rec->lastloop) {
    if (!rec->lastloop) {
      /* the first loop seen: the timeline's origin */
      rec->lstart = rec->lmax = now;
      rec->offset = 0;
    } else {
      rec->offset = now < rec->lmax ? rec->lmax - now : 0;
    }
    rec->lastloop = lp;
  }
  now += rec->offset;
  if (now > rec->lmax) rec->lmax = now;
  return now;
}

/* Interns the string on top (popped); returns its number (1-based). Only
 * called protected. */
static int intern(lua_State *L, alua__recorder *rec) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, rec->ref_strings);
  lua_pushvalue(L, -2);
  if (lua_rawget(L, -2) == LUA_TNUMBER) {
    int i = (int)lua_tointeger(L, -1);
    lua_pop(L, 3);
    return i;
  }
  lua_pop(L, 1);
  int i = ++rec->nstrings;
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, i);
  lua_pushvalue(L, -2);
  lua_pushinteger(L, i);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  return i;
}

static int grow(void **p, uint32_t *cap, uint32_t n, size_t size) {
  if (n < *cap) return 0;
  uint32_t nc = *cap ? *cap * 2 : 256;
  void *np = realloc(*p, nc * size);
  if (!np) return -1;
  *p = np;
  *cap = nc;
  return 0;
}

/* Starts a slice; returns it, or NULL when memory ran out. */
static rslice *new_slice(alua__recorder *rec, lloop *lp, uint64_t real) {
  if (grow((void **)&rec->slices, &rec->capslices, rec->nslices, sizeof(rslice)) < 0) {
    rec->failed = 1;
    return NULL;
  }
  rslice *s = &rec->slices[rec->nslices++];
  memset(s, 0, sizeof *s);
  s->t0 = s->t1 = real - rec->real0;
  s->l0 = s->l1 = loop_time(rec, lp);
  s->open = 1;
  lp->slice = rec->base + 1 + rec->nslices;
  return s;
}

/* The cause of t's coming step: who woke it, or who completed the future
 * it awaited (its wait record is still in place). */
static uint32_t cause_of(alua__recorder *rec, task *t) {
  uint32_t c = t->woken;
  if (c <= ALUA_NO_SLICE && t->wait && t->wait->forwards_cancel && t->wait_on) c = ((future *)t->wait_on)->done_by;
  return slice_of(rec, c) ? c - rec->base - 1 : 0;
}

/* Protected: the name of the task at 1, interned; rec at 2. */
static int intern_name_p(lua_State *L) {
  alua__recorder *rec = lua_touserdata(L, 2);
  lua_settop(L, 1);
  alua__task_pushname(L, 1);
  lua_pushinteger(L, intern(L, rec));
  return 1;
}

/* The interned name of task t (at tidx, or 0 while it is anchored). */
static int intern_name(lua_State *L, alua__recorder *rec, lloop *lp, task *t, int tidx) {
  lua_pushcfunction(L, intern_name_p);
  if (tidx) lua_pushvalue(L, tidx);
  else alua__push_anchored(L, lp, t->f.anchor);
  lua_pushlightuserdata(L, rec);
  int name = 0;
  if (lua_pcall(L, 2, 1, 0) == LUA_OK) name = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return name;
}

/* The track of t (its accounting record st), created at its first
 * recorded step; 0 when memory ran out. */
static uint32_t track_of(lua_State *L, alua__recorder *rec, lloop *lp, task *t, alua__taskstats *st) {
  if (!st) return 0; /* memory ran out: no accounting either */
  if (st->rec == rec->gen) return st->track;
  if (grow((void **)&rec->tracks, &rec->captracks, rec->ntracks, sizeof(rtrack)) < 0) {
    rec->failed = 1;
    return 0;
  }
  rtrack *k = &rec->tracks[rec->ntracks++];
  memset(k, 0, sizeof *k);
  k->task_id = t->id;
  k->name = intern_name(L, rec, lp, t, 0);
  st->rec = rec->gen;
  st->track = rec->ntracks;
  return rec->ntracks;
}

void alua__observe_update(lloop *lp) { lp->observe = lp->debug || lp->rt->rec; }

uint64_t alua__observe_step_begin(lloop *lp, task *t, alua__taskstats *stats) {
  uint64_t now = ac_clock_ns();
  if (t->wait) {
    uint64_t lnow = ac_loop_now(&lp->core);
    if (stats && lnow > t->since) stats->waited_ns += lnow - t->since;
  }
  if (stats) stats->steps++;
  alua__recorder *rec = lp->rt->rec;
  if (rec) {
    uint32_t cause = cause_of(rec, t);
    uint32_t track = track_of(lp->L, rec, lp, t, stats);
    rslice *s = track ? new_slice(rec, lp, now) : NULL;
    if (s) {
      s->track = track;
      s->cause = cause;
      rtrack *k = &rec->tracks[track - 1];
      if (!k->first) k->first = rec->nslices;
      k->last = rec->nslices;
    }
  }
  lp->obs_cpu0 = cpu_ns();
  return now;
}

/* Protected: the task at 1, rec at 2, slice index at 3: records what it
 * waits for now (internals.wait_of). */
static int record_wait_p(lua_State *L) {
  alua__recorder *rec = lua_touserdata(L, 2);
  rslice *s = &rec->slices[lua_tointeger(L, 3)];
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals");
  lua_getfield(L, -1, "task_record");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  int r = lua_gettop(L);
  if (lua_getfield(L, r, "kind") == LUA_TSTRING) s->kind = intern(L, rec);
  else lua_pop(L, 1);
  if (lua_getfield(L, r, "text") == LUA_TSTRING) s->label = intern(L, rec);
  else lua_pop(L, 1);
  return 0;
}

/* Ends the recorder's open slice of lp (number lp->slice). */
static rslice *end_slice(alua__recorder *rec, lloop *lp, uint64_t real, uint64_t cpu) {
  rslice *s = slice_of(rec, lp->slice);
  if (!s || !s->open) return NULL;
  s->open = 0;
  s->t1 = real - rec->real0;
  s->l1 = loop_time(rec, lp);
  s->cpu = cpu;
  return s;
}

void alua__observe_step_end(lua_State *L, lloop *lp, task *t, int tidx, uint64_t token, alua__taskstats *stats) {
  uint64_t cpu = cpu_ns() - lp->obs_cpu0;
  uint64_t now = ac_clock_ns();
  if (stats) stats->cpu_ns += cpu;
  if (lp->debug) alua__debug_slow(L, lp, tidx, token);
  alua__recorder *rec = lp->rt->rec;
  rslice *s = rec ? end_slice(rec, lp, now, cpu) : NULL;
  lp->slice = ALUA_NO_SLICE;
  if (!s) return;
  if (t->f.state != FUT_PENDING) {
    s->after = t->f.state == FUT_CANCELLED ? AFTER_CANCELLED : t->f.failed ? AFTER_FAILED : AFTER_DONE;
    if (s->track) {
      rtrack *k = &rec->tracks[s->track - 1];
      k->ended = 1;
      if (stats) k->stats = *stats;
      /* the body may have renamed itself */
      int name = intern_name(L, rec, lp, t, tidx);
      if (name) k->name = name;
    }
    return;
  }
  if (!t->suspended || !t->wait) {
    s->after = AFTER_READY;
    return;
  }
  s->after = AFTER_WAIT;
  lua_pushcfunction(L, record_wait_p);
  lua_pushvalue(L, tidx);
  lua_pushlightuserdata(L, rec);
  lua_pushinteger(L, s - rec->slices);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) lua_pop(L, 1);
}

uint64_t alua__observe_callback_begin(lloop *lp) {
  uint64_t now = ac_clock_ns();
  alua__recorder *rec = lp->rt->rec;
  if (rec) {
    rslice *s = new_slice(rec, lp, now);
    if (s) s->after = AFTER_DONE;
  }
  lp->obs_cpu0 = cpu_ns();
  return now;
}

/* Protected: the description of the handle at 1 interned; rec at 2. */
static int callback_label_p(lua_State *L) {
  alua__recorder *rec = lua_touserdata(L, 2);
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals");
  lua_getfield(L, -1, "handle_label");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_pushinteger(L, intern(L, rec));
  return 1;
}

void alua__observe_callback_end(lua_State *L, lloop *lp, int hidx, uint64_t token) {
  uint64_t cpu = cpu_ns() - lp->obs_cpu0;
  uint64_t now = ac_clock_ns();
  if (lp->debug) alua__debug_slow(L, lp, hidx, token);
  alua__recorder *rec = lp->rt->rec;
  rslice *s = rec ? end_slice(rec, lp, now, cpu) : NULL;
  lp->slice = ALUA_NO_SLICE;
  if (!s) return;
  uint32_t i = (uint32_t)(s - rec->slices);
  lua_pushcfunction(L, callback_label_p);
  lua_pushvalue(L, hidx);
  lua_pushlightuserdata(L, rec);
  if (lua_pcall(L, 2, 1, 0) == LUA_OK) rec->slices[i].label = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
}

/* -- starting and stopping ---------------------------------------------------------- */

static alua__recorder *checkrec(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_RECORDING); }

/* internals.record_start(): starts recording every loop of the state;
 * returns the recording. */
static int l_record_start(lua_State *L) {
  rt *r = alua__rt(L);
  if (r->rec) return luaL_error(L, "a trace or timeline is already being recorded");
  alua__recorder *rec = lua_newuserdatauv(L, sizeof *rec, 0);
  memset(rec, 0, sizeof *rec);
  rec->ref_strings = LUA_NOREF;
  /* before the finalizer: what follows may run out of memory, and rec_gc
   * then reads the runtime */
  rec->r = r;
  luaL_setmetatable(L, MT_RECORDING);
  lua_newtable(L);
  rec->ref_strings = luaL_ref(L, LUA_REGISTRYINDEX);
  rec->gen = ++next_gen ? next_gen : ++next_gen;
  rec->real0 = ac_clock_ns();
  rec->stopped = 0;
  lloop *lp = r->running;
  if (lp) loop_time(rec, lp);
  /* slice numbers go on from where earlier recordings left lloop.slice */
  rec->base = r->slices;
  r->rec = rec;
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.recording");
  if (lp) alua__observe_update(lp);
  return 1;
}

/* Detaches rec from its runtime. */
static void stop(lua_State *L, alua__recorder *rec) {
  if (rec->stopped) return;
  rec->stopped = 1;
  rec->real_end = ac_clock_ns() - rec->real0;
  rt *r = rec->r;
  r->slices = rec->base + rec->nslices + 2;
  if (r->rec == rec) r->rec = NULL;
  if (r->running) {
    alua__observe_update(r->running);
    /* stopped from inside a step: the step is not the recording's */
    r->running->slice = ALUA_NO_SLICE;
  }
  /* accounting of the tasks still running */
  if (r->running) {
    alua__push_tasks(L, r->running);
    int n = (int)lua_rawlen(L, -1);
    for (int j = 1; j <= n; j++) {
      lua_rawgeti(L, -1, j);
      task *t = lua_touserdata(L, -1);
      alua__taskstats *st = alua__task_stats(L, -1);
      lua_pop(L, 1);
      if (!st || st->rec != rec->gen) continue;
      for (uint32_t i = 0; i < rec->ntracks; i++) {
        rtrack *k = &rec->tracks[i];
        if (!k->ended && k->task_id == t->id) k->stats = *st;
      }
    }
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.recording");
}

/* internals.record_stop(): stops the recording; returns it. */
static int l_record_stop(lua_State *L) {
  rt *r = alua__rt(L);
  if (!r->rec) return 0;
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.recording");
  stop(L, r->rec);
  return 1;
}

/* internals.default_virtual_time(on): whether loops created from now on
 * without the option run on virtual time (as alua --virtual-time sets);
 * returns the previous setting. */
static int l_default_virtual_time(lua_State *L) {
  rt *r = alua__rt(L);
  lua_pushboolean(L, r->virtual_time);
  r->virtual_time = lua_toboolean(L, 1);
  return 1;
}

/* internals.recording(): the recording in progress, or nil. */
static int l_recording(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.recording");
  return 1;
}

static int rec_gc(lua_State *L) {
  alua__recorder *rec = alua__gc_self(L);
  if (!rec->stopped && rec->r->rec == rec) rec->r->rec = NULL;
  free(rec->slices);
  free(rec->tracks);
  rec->slices = NULL;
  rec->tracks = NULL;
  rec->nslices = rec->ntracks = 0;
  luaL_unref(L, LUA_REGISTRYINDEX, rec->ref_strings);
  rec->ref_strings = LUA_NOREF;
  return 0;
}

/* -- the data, for the timeline ----------------------------------------------------- */

/* recording:data(): {origin =, finish =, strings = {...}, tracks = {{id =,
 * name =, ended =, steps =, cpu =, waited =, slices = {i, ...}}, ...},
 * slices = {{track =, l0 =, l1 =, t0 =, t1 =, cpu =, cause =, kind =,
 * label =, after =}, ...}} with times in seconds; kind and label are
 * strings. */
static int rec_data(lua_State *L) {
  alua__recorder *rec = checkrec(L, 1);
  lua_settop(L, 1);
  lua_createtable(L, 0, 6);
  int d = 2;
  lua_rawgeti(L, LUA_REGISTRYINDEX, rec->ref_strings);
  int strings = 3;
  lua_pushnumber(L, (lua_Number)rec->lstart / 1e9);
  lua_setfield(L, d, "origin");
  lua_pushnumber(L, (lua_Number)rec->lmax / 1e9);
  lua_setfield(L, d, "finish");
  lua_pushnumber(L, (lua_Number)rec->real_end / 1e9);
  lua_setfield(L, d, "real_finish");
  lua_createtable(L, (int)rec->nslices, 0);
  for (uint32_t i = 0; i < rec->nslices; i++) {
    rslice *s = &rec->slices[i];
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, s->track);
    lua_setfield(L, -2, "track");
    lua_pushnumber(L, (lua_Number)s->l0 / 1e9);
    lua_setfield(L, -2, "l0");
    lua_pushnumber(L, (lua_Number)s->l1 / 1e9);
    lua_setfield(L, -2, "l1");
    lua_pushnumber(L, (lua_Number)s->t0 / 1e9);
    lua_setfield(L, -2, "t0");
    lua_pushnumber(L, (lua_Number)s->t1 / 1e9);
    lua_setfield(L, -2, "t1");
    lua_pushnumber(L, (lua_Number)s->cpu / 1e9);
    lua_setfield(L, -2, "cpu");
    if (s->cause) {
      lua_pushinteger(L, s->cause);
      lua_setfield(L, -2, "cause");
    }
    if (s->kind) {
      lua_rawgeti(L, strings, s->kind);
      lua_setfield(L, -2, "kind");
    }
    if (s->label) {
      lua_rawgeti(L, strings, s->label);
      lua_setfield(L, -2, "label");
    }
    if (s->track) {
      lua_pushstring(L, after_names[s->after]);
      lua_setfield(L, -2, "after");
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, d, "slices");
  lua_createtable(L, (int)rec->ntracks, 0);
  for (uint32_t i = 0; i < rec->ntracks; i++) {
    rtrack *k = &rec->tracks[i];
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, k->task_id);
    lua_setfield(L, -2, "id");
    lua_rawgeti(L, strings, k->name);
    lua_setfield(L, -2, "name");
    lua_pushboolean(L, k->ended);
    lua_setfield(L, -2, "ended");
    lua_pushinteger(L, k->stats.steps);
    lua_setfield(L, -2, "steps");
    lua_pushnumber(L, (lua_Number)k->stats.cpu_ns / 1e9);
    lua_setfield(L, -2, "cpu");
    lua_pushnumber(L, (lua_Number)k->stats.waited_ns / 1e9);
    lua_setfield(L, -2, "waited");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, d, "tracks");
  lua_pushboolean(L, rec->failed);
  lua_setfield(L, d, "incomplete");
  lua_settop(L, d);
  return 1;
}

/* -- the trace file ---------------------------------------------------------------------- */

/* Writes s as a JSON string. */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
  }
  fputc('"', f);
}

static const char *str(lua_State *L, int strings, int i, const char *def) {
  if (!i) return def;
  lua_rawgeti(L, strings, i);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* the table keeps it alive */
  return s ? s : def;
}

/* Microseconds, as trace events count. */
static double us(uint64_t ns) { return (double)ns / 1e3; }

/* Writes the recording to f as trace-event JSON: one thread per task (tid
 * = its track + 1; tid 1 holds the callbacks), an "X" event per step and
 * per wait, flow events from each cause to the slice it caused. */
static void write_trace(lua_State *L, alua__recorder *rec, FILE *f, const char *title) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, rec->ref_strings);
  int strings = lua_gettop(L);
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
  fputs("{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"process_name\",\"args\":{\"name\":", f);
  json_string(f, title);
  fputs("}},\n{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_name\",\"args\":{\"name\":\"callbacks\"}},\n", f);
  fputs("{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":1}}", f);
  for (uint32_t i = 0; i < rec->ntracks; i++) {
    rtrack *k = &rec->tracks[i];
    fprintf(f, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":", i + 2);
    lua_pushfstring(L, "Task '%s'", str(L, strings, k->name, "?"));
    json_string(f, lua_tostring(L, -1));
    lua_pop(L, 1);
    fprintf(f, "}},\n{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%u}}",
            i + 2, i + 2);
  }
  /* the slice after each step of the same track, for the waits */
  uint32_t *next = calloc(rec->nslices ? rec->nslices : 1, sizeof *next);
  uint32_t *latest = calloc(rec->ntracks + 1, sizeof *latest);
  if (next && latest) {
    for (uint32_t i = 0; i < rec->nslices; i++) {
      uint32_t k = rec->slices[i].track;
      if (!k) continue;
      if (latest[k]) next[latest[k] - 1] = i + 1;
      latest[k] = i + 1;
    }
  }
  uint64_t flow = 0;
  for (uint32_t i = 0; i < rec->nslices; i++) {
    rslice *s = &rec->slices[i];
    uint32_t tid = s->track ? s->track + 1 : 1;
    uint64_t t1 = s->open ? rec->real_end : s->t1;
    fprintf(f, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"cat\":\"%s\",\"name\":", tid,
            us(s->t0), us(t1 - s->t0), s->track ? "step" : "callback");
    json_string(f, s->track ? "step" : str(L, strings, s->label, "callback"));
    fprintf(f, ",\"args\":{\"cpu_us\":%.3f,\"loop_time\":%.6f", us(s->cpu), (double)s->l0 / 1e9);
    if (s->track) fprintf(f, ",\"then\":\"%s\"", after_names[s->after]);
    fputs("}}", f);
    if (s->cause && s->cause <= rec->nslices) {
      rslice *c = &rec->slices[s->cause - 1];
      uint32_t ctid = c->track ? c->track + 1 : 1;
      flow++;
      /* the start binds to the cause's slice: its midpoint lies inside it */
      fprintf(f,
              ",\n{\"ph\":\"s\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"id\":%llu,\"cat\":\"wake\",\"name\":\"wake\"}"
              ",\n{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"id\":%llu,\"cat\":\"wake\","
              "\"name\":\"wake\"}",
              ctid, (us(c->t0) + us(c->t1)) / 2, (unsigned long long)flow, tid, us(s->t0),
              (unsigned long long)flow);
    }
    if (s->track && s->after == AFTER_WAIT) {
      uint64_t w1 = next && next[i] ? rec->slices[next[i] - 1].t0 : rec->real_end;
      fprintf(f, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"cat\":\"wait\",\"name\":", tid,
              us(s->t1), us(w1 > s->t1 ? w1 - s->t1 : 0));
      json_string(f, str(L, strings, s->label, "waiting"));
      fputs(",\"args\":{\"kind\":", f);
      json_string(f, str(L, strings, s->kind, "?"));
      fputs("}}", f);
    }
    if (s->track && s->after >= AFTER_DONE) {
      rtrack *k = &rec->tracks[s->track - 1];
      fprintf(f,
              ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"name\":\"%s\",\"args\":{\"steps\":%u,"
              "\"cpu_ms\":%.3f,\"waited_ms\":%.3f}}",
              tid, us(s->t1), after_names[s->after], k->stats.steps, (double)k->stats.cpu_ns / 1e6,
              (double)k->stats.waited_ns / 1e6);
    }
  }
  /* accounting of the tasks still unfinished at the stop */
  for (uint32_t i = 0; i < rec->ntracks; i++) {
    rtrack *k = &rec->tracks[i];
    if (k->ended) continue;
    fprintf(f,
            ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"name\":\"unfinished\",\"args\":{"
            "\"steps\":%u,\"cpu_ms\":%.3f,\"waited_ms\":%.3f}}",
            i + 2, us(rec->real_end), k->stats.steps, (double)k->stats.cpu_ns / 1e6,
            (double)k->stats.waited_ns / 1e6);
  }
  free(next);
  free(latest);
  fputs("\n]}\n", f);
  lua_pop(L, 1);
}

/* recording:write_trace(path [, title]): writes the trace-event file. */
static int rec_write_trace(lua_State *L) {
  alua__recorder *rec = checkrec(L, 1);
  const char *path = luaL_checkstring(L, 2);
  const char *title = luaL_optstring(L, 3, "alua");
  if (!rec->stopped) return luaL_error(L, "the recording is still running");
  FILE *f = fopen(path, "w");
  if (!f) return alua__oserror(L, errno, "trace: cannot write %s", path);
  write_trace(L, rec, f, title);
  int failed = ferror(f);
  if (fclose(f) != 0 || failed) return alua__oserror(L, errno ? errno : EIO, "trace: cannot write %s", path);
  return 0;
}

static int rec_tostring(lua_State *L) {
  alua__recorder *rec = checkrec(L, 1);
  lua_pushfstring(L, "<Recording slices=%d tasks=%d%s>", (int)rec->nslices, (int)rec->ntracks,
                  rec->stopped ? " stopped" : "");
  return 1;
}

void alua__open_record(lua_State *L, rt *r, int module, int internals) {
  (void)module;
  static const luaL_Reg methods[] = {{"data", rec_data},
                                     {"write_trace", rec_write_trace},
                                     {"__gc", rec_gc},
                                     {"__tostring", rec_tostring},
                                     {NULL, NULL}};
  alua__newclass(L, r, MT_RECORDING, methods);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {
      {"record_start", l_record_start}, {"record_stop", l_record_stop}, {"recording", l_recording},
      {"default_virtual_time", l_default_virtual_time}, {NULL, NULL}};
  lua_pushvalue(L, internals);
  alua__setfuncs(L, r, funcs);
  lua_pop(L, 1);
}

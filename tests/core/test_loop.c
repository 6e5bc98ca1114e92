#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"

#define MS 1000000ull

static ac_loop loop;

static void setup(void) { cr_assert_eq(ac_loop_init(&loop), 0); }
static void teardown(void) { ac_loop_close(&loop); }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* ---- ready queue ---- */

typedef struct rec {
  ac_callback cb;
  int id;
  int *log;
  int *nlog;
  struct rec *other; /* a callback this one acts on */
  int times;         /* how often it re-enqueues itself */
} rec;

static void log_fn(ac_callback *cb) {
  rec *r = ac_container_of(cb, rec, cb);
  r->log[(*r->nlog)++] = r->id;
}

static void rec_init(rec *r, int id, int *log, int *nlog, void (*fn)(ac_callback *)) {
  ac_callback_init(&r->cb, fn);
  r->id = id;
  r->log = log;
  r->nlog = nlog;
  r->other = NULL;
  r->times = 0;
}

Test(loop, ready_fifo, .init = setup, .fini = teardown) {
  int log[16], n = 0;
  rec r[5];
  for (int i = 0; i < 5; i++) {
    rec_init(&r[i], i, log, &n, log_fn);
    cr_assert_not(ac_callback_pending(&r[i].cb));
    ac_loop_enqueue(&loop, &r[i].cb);
    cr_assert(ac_callback_pending(&r[i].cb));
  }
  cr_assert_eq(ac_loop_run_once(&loop, 0), 5);
  cr_assert_eq(n, 5);
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(log[i], i);
    cr_assert_not(ac_callback_pending(&r[i].cb));
  }
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
}

static void enqueue_other(ac_callback *cb) {
  rec *r = ac_container_of(cb, rec, cb);
  log_fn(cb);
  ac_loop_enqueue(&loop, &r->other->cb);
}

Test(loop, enqueued_during_pass_runs_next_pass, .init = setup, .fini = teardown) {
  int log[16], n = 0;
  rec a, b, c;
  rec_init(&a, 1, log, &n, enqueue_other);
  rec_init(&b, 2, log, &n, log_fn);
  rec_init(&c, 3, log, &n, log_fn);
  a.other = &b;
  ac_loop_enqueue(&loop, &a.cb);
  ac_loop_enqueue(&loop, &c.cb);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 2);
  cr_assert_eq(n, 2);
  cr_assert_eq(log[0], 1);
  cr_assert_eq(log[1], 3);
  cr_assert(ac_callback_pending(&b.cb));
  cr_assert_eq(ac_loop_timeout_ms(&loop), 0);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1); /* ready work: must not block */
  cr_assert_eq(log[2], 2);
}

static void reenqueue_self(ac_callback *cb) {
  rec *r = ac_container_of(cb, rec, cb);
  log_fn(cb);
  if (r->times-- > 0) ac_loop_enqueue(&loop, cb);
}

Test(loop, callback_reenqueues_itself, .init = setup, .fini = teardown) {
  int log[16], n = 0;
  rec a;
  rec_init(&a, 7, log, &n, reenqueue_self);
  a.times = 3;
  ac_loop_enqueue(&loop, &a.cb);
  for (int pass = 1; pass <= 4; pass++) {
    cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
    cr_assert_eq(n, pass);
  }
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
}

static void cancel_other(ac_callback *cb) {
  rec *r = ac_container_of(cb, rec, cb);
  log_fn(cb);
  ac_callback_cancel(&r->other->cb);
  /* Reuse its memory at once: a fresh callback, queued for the next pass. */
  rec_init(r->other, 99, r->log, r->nlog, log_fn);
  ac_loop_enqueue(&loop, &r->other->cb);
}

Test(loop, callback_cancels_later_one_in_same_batch, .init = setup, .fini = teardown) {
  int log[16], n = 0;
  rec a, b, c, d;
  rec_init(&a, 1, log, &n, cancel_other);
  rec_init(&b, 2, log, &n, log_fn);
  rec_init(&c, 3, log, &n, log_fn);
  rec_init(&d, 4, log, &n, log_fn);
  a.other = &c;
  ac_loop_enqueue(&loop, &a.cb);
  ac_loop_enqueue(&loop, &b.cb);
  ac_loop_enqueue(&loop, &c.cb);
  ac_loop_enqueue(&loop, &d.cb);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 3);
  cr_assert_eq(n, 3);
  cr_assert_eq(log[0], 1);
  cr_assert_eq(log[1], 2);
  cr_assert_eq(log[2], 4);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(log[3], 99);
}

static void cancel_other_only(ac_callback *cb) {
  rec *r = ac_container_of(cb, rec, cb);
  log_fn(cb);
  ac_callback_cancel(&r->other->cb);
}

Test(loop, cancel_outside_pass, .init = setup, .fini = teardown) {
  int log[4], n = 0;
  rec a, b;
  rec_init(&a, 1, log, &n, cancel_other_only);
  rec_init(&b, 2, log, &n, log_fn);
  a.other = &b; /* cancelling what is not pending is a no-op */
  ac_loop_enqueue(&loop, &b.cb);
  ac_callback_cancel(&b.cb);
  ac_callback_cancel(&b.cb);
  cr_assert_not(ac_callback_pending(&b.cb));
  ac_loop_enqueue(&loop, &a.cb);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(n, 1);
}

Test(loop, enqueue_all_moves_a_list_in_order, .init = setup, .fini = teardown) {
  int log[8], n = 0;
  rec r[4];
  ac_list waiters;
  ac_list_init(&waiters);
  rec_init(&r[0], 0, log, &n, log_fn);
  ac_loop_enqueue(&loop, &r[0].cb); /* already ready: stays first */
  for (int i = 1; i < 4; i++) {
    rec_init(&r[i], i, log, &n, log_fn);
    ac_list_push_back(&waiters, &r[i].cb.link);
  }
  ac_loop_enqueue_all(&loop, &waiters);
  cr_assert(ac_list_empty(&waiters));
  ac_loop_enqueue_all(&loop, &waiters); /* an empty list is a no-op */
  cr_assert_eq(ac_loop_run_once(&loop, 0), 4);
  for (int i = 0; i < 4; i++) cr_assert_eq(log[i], i);
}

static void noop_timer(ac_timer *t) { (void)t; }
static void noop_io(ac_io *io, uint32_t ev) { (void)io, (void)ev; }

Test(loop, alive_counts_callbacks_timers_and_watchers_not_the_waker, .init = setup, .fini = teardown) {
  cr_assert_not(ac_loop_alive(&loop));
  cr_assert_eq(ac_loop_wake(&loop), 0); /* a pending wake-up is not work */
  cr_assert_not(ac_loop_alive(&loop));
  int log[2], n = 0;
  rec r;
  rec_init(&r, 1, log, &n, log_fn);
  ac_loop_enqueue(&loop, &r.cb);
  cr_assert(ac_loop_alive(&loop));
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_not(ac_loop_alive(&loop));
  ac_timer t;
  ac_timer_init(&t, noop_timer);
  ac_loop_timer_start(&loop, &t, ac_loop_update_time(&loop) + 1000 * MS);
  cr_assert(ac_loop_alive(&loop));
  ac_loop_timer_stop(&loop, &t);
  cr_assert_not(ac_loop_alive(&loop));
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  ac_io io;
  ac_io_init(&io, fds[0], noop_io);
  cr_assert_eq(ac_io_start(&loop, &io, EPOLLIN), 0);
  cr_assert(ac_loop_alive(&loop));
  cr_assert_eq(ac_io_stop(&loop, &io), 0);
  cr_assert_not(ac_loop_alive(&loop));
  close(fds[0]);
  close(fds[1]);
}

/* ---- timers ---- */

typedef struct trec {
  ac_timer t;
  int id;
  int *log;
  int *nlog;
  int restart; /* restarts itself at loop->now this many times */
} trec;

static void timer_log(ac_timer *t) {
  trec *r = ac_container_of(t, trec, t);
  r->log[(*r->nlog)++] = r->id;
  if (r->restart-- > 0) ac_loop_timer_start(&loop, t, ac_loop_now(&loop));
}

static void trec_init(trec *r, int id, int *log, int *nlog) {
  ac_timer_init(&r->t, timer_log);
  r->id = id;
  r->log = log;
  r->nlog = nlog;
  r->restart = 0;
}

Test(loop, timers_fire_in_deadline_seq_order, .init = setup, .fini = teardown) {
  int log[16], n = 0;
  trec r[8];
  uint64_t base = ac_loop_update_time(&loop) - 100 * MS; /* all already due */
  uint64_t d[8] = {5, 3, 5, 1, 3, 5, 0, 1};
  for (int i = 0; i < 8; i++) {
    trec_init(&r[i], i, log, &n);
    ac_loop_timer_start(&loop, &r[i].t, base + d[i] * MS);
  }
  /* Moving a timer gives it a new seq: 1 now comes after 4. */
  ac_loop_timer_start(&loop, &r[1].t, base + 3 * MS);
  trec late;
  trec_init(&late, 100, log, &n);
  ac_loop_timer_start(&loop, &late.t, ac_clock_ns() + 3600ull * 1000 * MS);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 8);
  int expect[8] = {6, 3, 7, 4, 1, 0, 2, 5};
  cr_assert_eq(n, 8);
  for (int i = 0; i < 8; i++) cr_assert_eq(log[i], expect[i], "position %d", i);
  cr_assert(ac_timer_active(&late.t));
  ac_loop_timer_stop(&loop, &late.t);
  cr_assert_not(ac_timer_active(&late.t));
  cr_assert_eq(ac_loop_timeout_ms(&loop), -1);
}

Test(loop, stopped_timer_does_not_fire, .init = setup, .fini = teardown) {
  int log[4], n = 0;
  trec a, b;
  trec_init(&a, 1, log, &n);
  trec_init(&b, 2, log, &n);
  uint64_t now = ac_loop_update_time(&loop);
  ac_loop_timer_start(&loop, &a.t, now);
  ac_loop_timer_start(&loop, &b.t, now);
  ac_loop_timer_stop(&loop, &a.t);
  ac_loop_timer_stop(&loop, &a.t);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(log[0], 2);
}

Test(loop, timer_restarting_itself_waits_for_next_pass, .init = setup, .fini = teardown) {
  int log[16], n = 0;
  trec a;
  trec_init(&a, 1, log, &n);
  a.restart = 3;
  ac_loop_timer_start(&loop, &a.t, ac_loop_update_time(&loop));
  for (int pass = 1; pass <= 4; pass++) cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
  cr_assert_eq(n, 4);
}

/* ms the loop may report for deadline D when it reads its clock within [t0, t1] */
static void assert_timeout_for(uint64_t offset) {
  trec a;
  int log[1], n = 0;
  trec_init(&a, 1, log, &n);
  uint64_t t0 = ac_clock_ns();
  uint64_t d = t0 + offset;
  ac_loop_timer_start(&loop, &a.t, d);
  int ms = ac_loop_timeout_ms(&loop);
  uint64_t t1 = ac_clock_ns();
  long lo = d > t1 ? (long)((d - t1 + MS - 1) / MS) : 0;
  long hi = (long)((d - t0 + MS - 1) / MS);
  cr_assert(ms >= lo && ms <= hi, "offset %llu: %d not in [%ld, %ld]", (unsigned long long)offset,
            ms, lo, hi);
  ac_loop_timer_stop(&loop, &a.t);
}

Test(loop, timeout_ms, .init = setup, .fini = teardown) {
  cr_assert_eq(ac_loop_timeout_ms(&loop), -1);
  int log[4], n = 0;
  rec r;
  rec_init(&r, 1, log, &n, log_fn);
  ac_loop_enqueue(&loop, &r.cb);
  cr_assert_eq(ac_loop_timeout_ms(&loop), 0);
  trec t;
  trec_init(&t, 1, log, &n);
  ac_loop_timer_start(&loop, &t.t, ac_clock_ns() + 5000 * MS);
  cr_assert_eq(ac_loop_timeout_ms(&loop), 0); /* ready work wins over timers */
  ac_loop_run_once(&loop, 0);
  int ms = ac_loop_timeout_ms(&loop);
  cr_assert(ms > 4000 && ms <= 5000, "%d", ms);
  ac_loop_timer_stop(&loop, &t.t);
  cr_assert_eq(ac_loop_timeout_ms(&loop), -1);

  /* Rounded up: a fraction of a millisecond counts as a whole one. */
  assert_timeout_for(1);
  assert_timeout_for(MS / 2);
  assert_timeout_for(3 * MS + 1);
  assert_timeout_for(20 * MS + MS / 3);
  assert_timeout_for(700 * MS);
  /* 1 ns ahead but read a moment later: at least it never says "sleep" for
   * something due. */
  ac_loop_timer_start(&loop, &t.t, ac_clock_ns() - 1);
  cr_assert_eq(ac_loop_timeout_ms(&loop), 0);
  ac_loop_timer_start(&loop, &t.t, UINT64_MAX);
  cr_assert_eq(ac_loop_timeout_ms(&loop), INT_MAX);
  ac_loop_timer_stop(&loop, &t.t);
}

static void sleep_is_never_early(int use_pwait2) {
  loop.use_pwait2 = use_pwait2;
  int log[8], n = 0;
  trec a;
  trec_init(&a, 1, log, &n);
  for (int k = 0; k < 5; k++) {
    uint64_t d = ac_clock_ns() + 10 * MS + 300000ull * (uint64_t)k + 123;
    ac_loop_timer_start(&loop, &a.t, d);
    /* Nothing else can wake the loop: the first blocking pass fires it. */
    cr_assert_eq(ac_loop_run_once(&loop, 1), 1, "round %d", k);
    cr_assert_geq(ac_clock_ns(), d);
    cr_assert_geq(ac_loop_now(&loop), d);
  }
  cr_assert_eq(n, 5);
}

Test(loop, blocking_sleep_never_wakes_early, .init = setup, .fini = teardown) {
  sleep_is_never_early(1);
}

Test(loop, blocking_sleep_never_wakes_early_ms_fallback, .init = setup, .fini = teardown) {
  sleep_is_never_early(0);
}

/* ---- I/O ---- */

typedef struct iorec {
  ac_io io;
  int calls;
  uint32_t last;
  struct iorec *other; /* stopped by this watcher's function */
} iorec;

static void io_fn(ac_io *io, uint32_t revents) {
  iorec *r = ac_container_of(io, iorec, io);
  r->calls++;
  r->last = revents;
  if (r->other) ac_io_stop(&loop, &r->other->io);
}

Test(loop, pipe_readiness, .init = setup, .fini = teardown) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  iorec rd = {0}, wr = {0};
  ac_io_init(&rd.io, p[0], io_fn);
  ac_io_init(&wr.io, p[1], io_fn);
  cr_assert_eq(ac_io_start(&loop, &rd.io, EPOLLIN), 0);
  cr_assert_eq(loop.nio, 1);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
  cr_assert_eq(rd.calls, 0);
  cr_assert_eq(write(p[1], "x", 1), 1);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(rd.calls, 1);
  cr_assert(rd.last & EPOLLIN);
  /* Level-triggered: still readable until drained. */
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(rd.calls, 2);
  char c;
  cr_assert_eq(read(p[0], &c, 1), 1);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(rd.calls, 2);

  cr_assert_eq(ac_io_start(&loop, &wr.io, EPOLLOUT), 0);
  cr_assert_eq(loop.nio, 2);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(wr.calls, 1);
  cr_assert(wr.last & EPOLLOUT);

  /* Blocking: a writer thread is not needed, the pipe is writable now. */
  ac_loop_run_once(&loop, 1);
  cr_assert_eq(wr.calls, 2);

  /* The host fd is readable while some watcher is ready. */
  struct pollfd pfd = {.fd = ac_loop_fd(&loop), .events = POLLIN};
  cr_assert_eq(poll(&pfd, 1, 0), 1);
  cr_assert_eq(ac_io_stop(&loop, &wr.io), 0);
  cr_assert_eq(poll(&pfd, 1, 0), 0);

  cr_assert_eq(ac_io_stop(&loop, &rd.io), 0);
  cr_assert_eq(ac_io_stop(&loop, &rd.io), 0);
  cr_assert_eq(loop.nio, 0);
  close(p[0]);
  close(p[1]);
}

Test(loop, io_start_modify_and_stop, .init = setup, .fini = teardown) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  iorec r = {0};
  ac_io_init(&r.io, sv[0], io_fn);
  cr_assert_eq(ac_io_start(&loop, &r.io, EPOLLIN), 0);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(r.calls, 0);
  cr_assert_eq(ac_io_start(&loop, &r.io, EPOLLIN | EPOLLOUT), 0);
  cr_assert_eq(r.io.events, EPOLLIN | EPOLLOUT);
  cr_assert_eq(loop.nio, 1);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(r.calls, 1);
  cr_assert_eq(r.last, EPOLLOUT);
  cr_assert_eq(write(sv[1], "ab", 2), 2);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(r.last, EPOLLIN | EPOLLOUT);
  cr_assert_eq(ac_io_start(&loop, &r.io, EPOLLIN), 0);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(r.last, EPOLLIN);
  /* Same mask again: nothing changes. */
  cr_assert_eq(ac_io_start(&loop, &r.io, EPOLLIN), 0);
  cr_assert_eq(loop.nio, 1);
  /* events == 0 unregisters. */
  cr_assert_eq(ac_io_start(&loop, &r.io, 0), 0);
  cr_assert_eq(r.io.events, 0);
  cr_assert_eq(loop.nio, 0);
  int calls = r.calls;
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(r.calls, calls);
  /* And it can come back. */
  cr_assert_eq(ac_io_start(&loop, &r.io, EPOLLIN), 0);
  ac_loop_run_once(&loop, 0);
  cr_assert_eq(r.calls, calls + 1);
  cr_assert_eq(ac_io_stop(&loop, &r.io), 0);
  /* Errors come back as -errno. */
  iorec bad = {0};
  ac_io_init(&bad.io, -1, io_fn);
  cr_assert_eq(ac_io_start(&loop, &bad.io, EPOLLIN), -EBADF);
  cr_assert_eq(bad.io.events, 0);
  cr_assert_eq(loop.nio, 0);
  close(sv[0]);
  close(sv[1]);
}

Test(loop, watcher_stopped_by_earlier_watcher_in_batch, .init = setup, .fini = teardown) {
  int p[2], q[2];
  cr_assert_eq(pipe(p), 0);
  cr_assert_eq(pipe(q), 0);
  iorec a = {0}, b = {0};
  ac_io_init(&a.io, p[0], io_fn);
  ac_io_init(&b.io, q[0], io_fn);
  a.other = &b;
  b.other = &a;
  cr_assert_eq(ac_io_start(&loop, &a.io, EPOLLIN), 0);
  cr_assert_eq(ac_io_start(&loop, &b.io, EPOLLIN), 0);
  cr_assert_eq(write(p[1], "x", 1), 1);
  cr_assert_eq(write(q[1], "x", 1), 1);
  ac_loop_run_once(&loop, 0);
  /* Whichever ran first stopped the other, whose event was then dropped. */
  cr_assert_eq(a.calls + b.calls, 1);
  cr_assert_eq(loop.nio, 1);
  ac_io_stop(&loop, &a.io);
  ac_io_stop(&loop, &b.io);
  cr_assert_eq(loop.nio, 0);
  for (int i = 0; i < 2; i++) close(p[i]), close(q[i]);
}

/* ---- other threads ---- */

typedef struct waker_arg {
  ac_loop *loop;
  int delay_ms;
  ac_callback *cb; /* posted when set, else a plain wake */
} waker_arg;

static void *waker_thread(void *arg) {
  waker_arg *w = arg;
  sleep_ms(w->delay_ms);
  if (w->cb)
    ac_loop_post(w->loop, w->cb);
  else
    ac_loop_wake(w->loop);
  return NULL;
}

Test(loop, wake_from_thread_unblocks_poll, .init = setup, .fini = teardown, .timeout = 30) {
  pthread_t th;
  waker_arg w = {&loop, 30, NULL};
  uint64_t t0 = ac_clock_ns();
  cr_assert_eq(pthread_create(&th, NULL, waker_thread, &w), 0);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 0); /* would block forever otherwise */
  cr_assert_geq(ac_clock_ns() - t0, 20 * MS);
  pthread_join(th, NULL);
  /* The wake-up was consumed: a second wake writes again and unblocks again. */
  cr_assert_eq(loop.wake_armed, 0);
  cr_assert_eq(ac_loop_wake(&loop), 0);
  cr_assert_eq(ac_loop_wake(&loop), 0); /* coalesced */
  cr_assert_eq(loop.wake_armed, 1);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 0);
  cr_assert_eq(loop.wake_armed, 0);
}

static void wake_on_signal(int sig) {
  (void)sig;
  ac_loop_wake(&loop);
}

Test(loop, wake_from_signal_handler_keeps_errno, .init = setup, .fini = teardown, .timeout = 30) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = wake_on_signal;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
  errno = 1234;
  cr_assert_eq(raise(SIGUSR1), 0);
  cr_assert_eq(errno, 1234);
  cr_assert_eq(loop.wake_armed, 1);
  /* the pending wake-up makes a blocking pass return at once */
  cr_assert_eq(ac_loop_run_once(&loop, 1), 0);
  cr_assert_eq(loop.wake_armed, 0);
  sigaction(SIGUSR1, &old, NULL);
}

static pthread_t main_thread;
static int posted_ran;

static void on_posted(ac_callback *cb) {
  (void)cb;
  cr_assert(pthread_equal(pthread_self(), main_thread));
  posted_ran++;
}

Test(loop, post_from_thread, .init = setup, .fini = teardown, .timeout = 30) {
  main_thread = pthread_self();
  posted_ran = 0;
  ac_callback cb;
  ac_callback_init(&cb, on_posted);
  pthread_t th;
  waker_arg w = {&loop, 30, &cb};
  cr_assert_eq(pthread_create(&th, NULL, waker_thread, &w), 0);
  int total = 0;
  while (!posted_ran) {
    int r = ac_loop_run_once(&loop, 1);
    cr_assert_geq(r, 0);
    total += r;
  }
  cr_assert_eq(total, 1);
  pthread_join(th, NULL);
}

Test(loop, post_wakes_host_fd, .init = setup, .fini = teardown, .timeout = 30) {
  main_thread = pthread_self();
  posted_ran = 0;
  ac_callback cb;
  ac_callback_init(&cb, on_posted);
  pthread_t th;
  waker_arg w = {&loop, 20, &cb};
  cr_assert_eq(pthread_create(&th, NULL, waker_thread, &w), 0);
  cr_assert_eq(ac_loop_timeout_ms(&loop), -1);
  struct pollfd pfd = {.fd = ac_loop_fd(&loop), .events = POLLIN};
  cr_assert_eq(poll(&pfd, 1, 10000), 1);
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(posted_ran, 1);
  pthread_join(th, NULL);
}

enum { POSTERS = 4, PER_POSTER = 20000 };

typedef struct poster {
  ac_loop *loop;
  ac_callback cbs[PER_POSTER];
} poster;

static int storm_count;

static void storm_fn(ac_callback *cb) {
  (void)cb;
  storm_count++;
}

static void *poster_thread(void *arg) {
  poster *p = arg;
  for (int i = 0; i < PER_POSTER; i++) {
    ac_callback_init(&p->cbs[i], storm_fn);
    if (ac_loop_post(p->loop, &p->cbs[i]) != 0) abort();
  }
  return NULL;
}

Test(loop, post_storm_loses_nothing, .init = setup, .fini = teardown, .timeout = 60) {
  static poster ps[POSTERS];
  pthread_t th[POSTERS];
  storm_count = 0;
  for (int i = 0; i < POSTERS; i++) {
    ps[i].loop = &loop;
    cr_assert_eq(pthread_create(&th[i], NULL, poster_thread, &ps[i]), 0);
  }
  /* Blocking passes: a lost wake-up would hang here until the timeout. */
  while (storm_count < POSTERS * PER_POSTER) cr_assert_geq(ac_loop_run_once(&loop, 1), 0);
  for (int i = 0; i < POSTERS; i++) pthread_join(th[i], NULL);
  cr_assert_eq(storm_count, POSTERS * PER_POSTER);
}

/* Two loops, each driven by its own thread, with timers, callbacks, a pipe
 * and posts from the other thread. */
typedef struct world {
  ac_loop loop;
  ac_timer timer;
  ac_io io;
  int pipe[2];
  ac_callback posted;   /* posted by the other world's thread */
  struct world *peer;
  int ticks;            /* timer firings */
  int reads;            /* pipe reads */
  int got_post;         /* peer's post arrived */
  int failed;
} world;

static void world_tick(ac_timer *t) {
  world *w = ac_container_of(t, world, timer);
  w->ticks++;
  if (w->ticks == 3) {
    /* Poke the peer through its pipe and its post queue. */
    if (write(w->peer->pipe[1], "p", 1) != 1) w->failed = 1;
    if (ac_loop_post(&w->peer->loop, &w->peer->posted) != 0) w->failed = 1;
  }
  if (w->ticks < 10) ac_loop_timer_start(&w->loop, t, ac_loop_now(&w->loop) + 2 * MS);
}

static void world_read(ac_io *io, uint32_t revents) {
  world *w = ac_container_of(io, world, io);
  char c;
  (void)revents;
  if (read(io->fd, &c, 1) == 1) w->reads++;
}

static void world_post(ac_callback *cb) { ac_container_of(cb, world, posted)->got_post = 1; }

static void *world_thread(void *arg) {
  world *w = arg;
  ac_loop_timer_start(&w->loop, &w->timer, ac_loop_update_time(&w->loop) + 2 * MS);
  while (w->ticks < 10 || !w->reads || !w->got_post)
    if (ac_loop_run_once(&w->loop, 1) < 0) {
      w->failed = 1;
      break;
    }
  return NULL;
}

Test(loop, two_loops_in_two_threads, .timeout = 30) {
  static world ws[2];
  for (int i = 0; i < 2; i++) {
    world *w = &ws[i];
    cr_assert_eq(ac_loop_init(&w->loop), 0);
    cr_assert_eq(pipe(w->pipe), 0);
    ac_timer_init(&w->timer, world_tick);
    ac_io_init(&w->io, w->pipe[0], world_read);
    cr_assert_eq(ac_io_start(&w->loop, &w->io, EPOLLIN), 0);
    ac_callback_init(&w->posted, world_post);
    w->peer = &ws[1 - i];
  }
  pthread_t th[2];
  for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, world_thread, &ws[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 2; i++) {
    world *w = &ws[i];
    cr_assert_not(w->failed);
    cr_assert_eq(w->ticks, 10);
    cr_assert_eq(w->reads, 1);
    cr_assert(w->got_post);
    ac_io_stop(&w->loop, &w->io);
    close(w->pipe[0]);
    close(w->pipe[1]);
    ac_loop_close(&w->loop);
  }
}

Test(loop, close_is_idempotent) {
  ac_loop l;
  cr_assert_eq(ac_loop_init(&l), 0);
  cr_assert_geq(ac_loop_fd(&l), 0);
  ac_loop_close(&l);
  ac_loop_close(&l);
  cr_assert_eq(ac_loop_fd(&l), -1);
}

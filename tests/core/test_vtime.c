/* Virtual time: the clock starts at 0, jumps to the earliest timer when the
 * loop would otherwise sleep, and follows the real clock only while external
 * work is outstanding. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"

#define MS 1000000ull
#define SEC 1000000000ull

static ac_loop loop;

static void setup(void) {
  cr_assert_eq(ac_loop_init(&loop), 0);
  cr_assert_eq(ac_loop_set_virtual_time(&loop, 1), 0);
}
static void teardown(void) { ac_loop_close(&loop); }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* A timer that logs its id and the loop time it fired at. */
typedef struct trec {
  ac_timer t;
  ac_loop *loop;
  int id;
  int *log;
  uint64_t *at;
  int *n;
  uint64_t every; /* restart this much later, `restart` times */
  int restart;
} trec;

static void timer_log(ac_timer *t) {
  trec *r = ac_container_of(t, trec, t);
  r->log[*r->n] = r->id;
  r->at[*r->n] = ac_loop_now(r->loop);
  (*r->n)++;
  if (r->restart > 0) {
    r->restart--;
    ac_loop_timer_start(r->loop, t, ac_loop_now(r->loop) + r->every);
  }
}

static void trec_init(trec *r, ac_loop *l, int id, int *log, uint64_t *at, int *n) {
  ac_timer_init(&r->t, timer_log);
  r->loop = l;
  r->id = id;
  r->log = log;
  r->at = at;
  r->n = n;
  r->every = 0;
  r->restart = 0;
}

Test(vtime, starts_at_zero_and_switches_only_without_timers, .init = setup, .fini = teardown) {
  cr_assert(ac_loop_is_virtual_time(&loop));
  cr_assert_eq(ac_loop_now(&loop), 0);
  sleep_ms(5);
  cr_assert_eq(ac_loop_update_time(&loop), 0, "the clock stands still without external work");
  int log[1], n = 0;
  uint64_t at[1];
  trec a;
  trec_init(&a, &loop, 1, log, at, &n);
  ac_loop_timer_start(&loop, &a.t, 5 * SEC);
  cr_assert_eq(ac_loop_set_virtual_time(&loop, 0), -EBUSY);
  cr_assert(ac_loop_is_virtual_time(&loop));
  ac_loop_timer_stop(&loop, &a.t);
  uint64_t before = ac_clock_ns();
  cr_assert_eq(ac_loop_set_virtual_time(&loop, 0), 0);
  cr_assert_not(ac_loop_is_virtual_time(&loop));
  cr_assert_geq(ac_loop_now(&loop), before);
  cr_assert_geq(ac_loop_update_time(&loop), before);
  /* and back: 0 again */
  cr_assert_eq(ac_loop_set_virtual_time(&loop, 1), 0);
  cr_assert_eq(ac_loop_now(&loop), 0);
}

Test(vtime, jumps_to_each_deadline_in_turn, .init = setup, .fini = teardown) {
  int log[8], n = 0;
  uint64_t at[8];
  trec r[3];
  uint64_t d[3] = {5 * SEC, 1 * SEC, 3 * SEC + 7};
  for (int i = 0; i < 3; i++) {
    trec_init(&r[i], &loop, i, log, at, &n);
    ac_loop_timer_start(&loop, &r[i].t, d[i]);
  }
  uint64_t wall = ac_clock_ns();
  /* A blocking pass jumps instead of sleeping; one deadline per pass. */
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(ac_loop_now(&loop), 1 * SEC);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(ac_loop_now(&loop), 3 * SEC + 7);
  /* may_block = 0 jumps too: a jump is not a sleep */
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(ac_loop_now(&loop), 5 * SEC);
  cr_assert_lt(ac_clock_ns() - wall, 2 * SEC, "no real sleeping");
  int expect[3] = {1, 2, 0};
  cr_assert_eq(n, 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(log[i], expect[i]);
    cr_assert_eq(at[i], d[expect[i]], "timer %d read its own deadline", expect[i]);
  }
  /* Nothing left: no jump, the clock stays. */
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
  cr_assert_eq(ac_loop_now(&loop), 5 * SEC);
  cr_assert_not(ac_loop_alive(&loop));
}

Test(vtime, an_hour_of_one_second_ticks_takes_no_time, .init = setup, .fini = teardown) {
  static int log[3700];
  static uint64_t at[3700];
  int n = 0;
  trec tick;
  trec_init(&tick, &loop, 1, log, at, &n);
  tick.every = SEC;
  tick.restart = 3599;
  ac_loop_timer_start(&loop, &tick.t, SEC);
  uint64_t wall = ac_clock_ns();
  while (ac_loop_alive(&loop)) cr_assert_geq(ac_loop_run_once(&loop, 1), 0);
  cr_assert_lt(ac_clock_ns() - wall, 2 * SEC);
  cr_assert_eq(n, 3600);
  for (int i = 0; i < n; i++) cr_assert_eq(at[i], (uint64_t)(i + 1) * SEC, "tick %d", i);
  cr_assert_eq(ac_loop_now(&loop), 3600 * SEC);
}

/* Runs the same schedule on a real loop (every timer already due, one pass)
 * and on a virtual one (a jump per deadline): the firing order is the same,
 * (deadline, seq), moved timers getting a new seq. */
Test(vtime, ordering_matches_real_time, .init = setup, .fini = teardown) {
  ac_loop real;
  cr_assert_eq(ac_loop_init(&real), 0);
  ac_loop *loops[2] = {&real, &loop};
  int logs[2][16], ns[2] = {0, 0};
  uint64_t at[2][16];
  uint64_t d[8] = {5, 3, 5, 1, 3, 5, 0, 1};
  trec r[2][8];
  for (int k = 0; k < 2; k++) {
    uint64_t base = k == 0 ? ac_loop_update_time(&real) - 100 * MS : 10 * MS;
    for (int i = 0; i < 8; i++) {
      trec_init(&r[k][i], loops[k], i, logs[k], at[k], &ns[k]);
      ac_loop_timer_start(loops[k], &r[k][i].t, base + d[i] * MS);
    }
    ac_loop_timer_start(loops[k], &r[k][1].t, base + 3 * MS);
    while (ac_loop_alive(loops[k])) cr_assert_geq(ac_loop_run_once(loops[k], 1), 0);
  }
  int expect[8] = {6, 3, 7, 4, 1, 0, 2, 5};
  cr_assert_eq(ns[0], 8);
  cr_assert_eq(ns[1], 8);
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(logs[0][i], expect[i], "real, position %d", i);
    cr_assert_eq(logs[1][i], expect[i], "virtual, position %d", i);
    cr_assert_eq(at[1][i], 10 * MS + d[expect[i]] * MS);
  }
  ac_loop_close(&real);
}

/* A callback that enqueues itself `times` more times. */
typedef struct again {
  ac_callback cb;
  ac_loop *loop;
  int times;
  int ran;
  uint64_t seen[8];
} again;

static void again_fn(ac_callback *cb) {
  again *a = ac_container_of(cb, again, cb);
  a->seen[a->ran++] = ac_loop_now(a->loop);
  if (a->times-- > 0) ac_loop_enqueue(a->loop, cb);
}

Test(vtime, ready_callbacks_hold_the_clock, .init = setup, .fini = teardown) {
  int log[2], n = 0;
  uint64_t at[2];
  trec t;
  trec_init(&t, &loop, 1, log, at, &n);
  ac_loop_timer_start(&loop, &t.t, 10 * SEC);
  again a = {.loop = &loop, .times = 3};
  ac_callback_init(&a.cb, again_fn);
  ac_loop_enqueue(&loop, &a.cb);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(ac_loop_timeout_ms(&loop), 0);
    cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
    cr_assert_eq(ac_loop_now(&loop), 0);
  }
  cr_assert_eq(a.ran, 4);
  cr_assert_eq(n, 0);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(n, 1);
  cr_assert_eq(at[0], 10 * SEC);
}

typedef struct iorec {
  ac_io io;
  int calls;
  uint64_t at;
} iorec;

static void io_fn(ac_io *io, uint32_t revents) {
  iorec *r = ac_container_of(io, iorec, io);
  (void)revents;
  char c;
  if (read(io->fd, &c, 1) == 1) r->calls++;
  r->at = ac_loop_now(&loop);
}

Test(vtime, ready_io_holds_the_clock_pending_io_does_not, .init = setup, .fini = teardown) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  iorec rd = {0};
  ac_io_init(&rd.io, p[0], io_fn);
  cr_assert_eq(ac_io_start(&loop, &rd.io, EPOLLIN), 0);
  int log[4], n = 0;
  uint64_t at[4];
  trec t1, t2;
  trec_init(&t1, &loop, 1, log, at, &n);
  trec_init(&t2, &loop, 2, log, at, &n);
  ac_loop_timer_start(&loop, &t1.t, 2 * SEC);
  ac_loop_timer_start(&loop, &t2.t, 4 * SEC);
  /* Data waiting: the pass handles it and does not jump. */
  cr_assert_eq(write(p[1], "x", 1), 1);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 0);
  cr_assert_eq(rd.calls, 1);
  cr_assert_eq(rd.at, 0);
  cr_assert_eq(ac_loop_now(&loop), 0);
  cr_assert_eq(n, 0);
  /* A watched descriptor with nothing to read does not hold the clock. */
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(ac_loop_now(&loop), 2 * SEC);
  cr_assert_eq(write(p[1], "y", 1), 1);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 0);
  cr_assert_eq(rd.calls, 2);
  cr_assert_eq(rd.at, 2 * SEC);
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(ac_loop_now(&loop), 4 * SEC);
  cr_assert_eq(ac_io_stop(&loop, &rd.io), 0);
  close(p[0]);
  close(p[1]);
}

Test(vtime, external_counter_and_alive, .init = setup, .fini = teardown) {
  cr_assert_not(ac_loop_alive(&loop));
  cr_assert_eq(ac_loop_external(&loop), 0);
  cr_assert_eq(ac_loop_external_end(&loop), -EINVAL);
  cr_assert_eq(ac_loop_external(&loop), 0);
  ac_loop_external_begin(&loop);
  ac_loop_external_begin(&loop);
  cr_assert_eq(ac_loop_external(&loop), 2);
  cr_assert(ac_loop_alive(&loop));
  cr_assert_eq(ac_loop_external_end(&loop), 0);
  cr_assert(ac_loop_alive(&loop));
  cr_assert_eq(ac_loop_external_end(&loop), 0);
  cr_assert_not(ac_loop_alive(&loop));
  cr_assert_eq(ac_loop_external_end(&loop), -EINVAL);
  /* The counter works the same on a real clock. */
  ac_loop real;
  cr_assert_eq(ac_loop_init(&real), 0);
  cr_assert_not(ac_loop_alive(&real));
  ac_loop_external_begin(&real);
  cr_assert(ac_loop_alive(&real));
  cr_assert_eq(ac_loop_external_end(&real), 0);
  cr_assert_not(ac_loop_alive(&real));
  ac_loop_close(&real);
}

Test(vtime, clock_follows_real_time_only_while_external_work_runs, .init = setup, .fini = teardown) {
  ac_loop_external_begin(&loop);
  sleep_ms(30);
  uint64_t a = ac_loop_update_time(&loop);
  cr_assert_geq(a, 30 * MS);
  cr_assert_lt(a, 5 * SEC);
  sleep_ms(10);
  cr_assert_eq(ac_loop_external_end(&loop), 0);
  uint64_t b = ac_loop_now(&loop);
  cr_assert_geq(b, a + 10 * MS, "the end counts the time up to it");
  sleep_ms(30);
  cr_assert_eq(ac_loop_update_time(&loop), b);
  /* A timeout_ms for a host: 0 when a jump is due, real ms while work runs. */
  int log[1], n = 0;
  uint64_t at[1];
  trec t;
  trec_init(&t, &loop, 1, log, at, &n);
  ac_loop_timer_start(&loop, &t.t, b + 2 * SEC);
  cr_assert_eq(ac_loop_timeout_ms(&loop), 0);
  ac_loop_external_begin(&loop);
  int ms = ac_loop_timeout_ms(&loop);
  cr_assert(ms > 1000 && ms <= 2000, "%d", ms);
  cr_assert_eq(ac_loop_external_end(&loop), 0);
  ac_loop_timer_stop(&loop, &t.t);
  cr_assert_eq(ac_loop_timeout_ms(&loop), -1);
}

/* External work done by a thread: ends the work from the loop thread. */
typedef struct job {
  ac_callback done;
  ac_loop *loop;
  int delay_ms;
  int finished;
  uint64_t at;
} job;

static void job_done(ac_callback *cb) {
  job *j = ac_container_of(cb, job, done);
  j->finished = 1;
  j->at = ac_loop_now(j->loop);
  ac_loop_external_end(j->loop);
}

static void *job_thread(void *arg) {
  job *j = arg;
  sleep_ms(j->delay_ms);
  ac_loop_post(j->loop, &j->done);
  return NULL;
}

static void job_start(job *j, pthread_t *th, int delay_ms) {
  ac_callback_init(&j->done, job_done);
  j->loop = &loop;
  j->delay_ms = delay_ms;
  j->finished = 0;
  ac_loop_external_begin(&loop);
  cr_assert_eq(pthread_create(th, NULL, job_thread, j), 0);
}

Test(vtime, external_work_is_waited_for_before_a_later_timer, .init = setup, .fini = teardown, .timeout = 30) {
  int log[2], n = 0;
  uint64_t at[2];
  trec t;
  trec_init(&t, &loop, 1, log, at, &n);
  ac_loop_timer_start(&loop, &t.t, 60 * SEC);
  job j;
  pthread_t th;
  job_start(&j, &th, 50);
  uint64_t wall = ac_clock_ns();
  /* Blocks in real time until the post arrives; no jump to 60 s. */
  while (!j.finished) cr_assert_geq(ac_loop_run_once(&loop, 1), 0);
  uint64_t took = ac_clock_ns() - wall;
  pthread_join(th, NULL);
  cr_assert_geq(took, 45 * MS);
  cr_assert_eq(n, 0, "the timer did not fire early");
  cr_assert_geq(j.at, 45 * MS, "the clock ran with the real one while the job ran");
  cr_assert_lt(j.at, 30 * SEC);
  cr_assert_geq(ac_loop_now(&loop), j.at, "ending the work counted the moments up to it");
  cr_assert_lt(ac_loop_now(&loop), 30 * SEC);
  /* With the work done, the next pass jumps straight to the timer. */
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(n, 1);
  cr_assert_eq(at[0], 60 * SEC);
}

Test(vtime, a_timer_due_during_external_work_fires_on_time, .init = setup, .fini = teardown, .timeout = 30) {
  int log[2], n = 0;
  uint64_t at[2];
  trec t;
  trec_init(&t, &loop, 1, log, at, &n);
  ac_loop_timer_start(&loop, &t.t, 40 * MS);
  job j;
  pthread_t th;
  job_start(&j, &th, 400);
  /* The first blocking pass waits 40 ms of real time, and the timer reads
   * its deadline exactly. */
  cr_assert_eq(ac_loop_run_once(&loop, 1), 1);
  cr_assert_eq(n, 1);
  cr_assert_eq(at[0], 40 * MS);
  cr_assert_not(j.finished);
  while (!j.finished) cr_assert_geq(ac_loop_run_once(&loop, 1), 0);
  pthread_join(th, NULL);
  cr_assert_gt(j.at, 40 * MS);
  cr_assert_lt(j.at, 30 * SEC);
  cr_assert_not(ac_loop_alive(&loop));
}

static void nop_cb(ac_callback *cb) { (void)cb; }

Test(vtime, due_now_says_when_a_pass_would_not_jump, .init = setup, .fini = teardown) {
  int log[2], n = 0;
  uint64_t at[2];
  trec t;
  trec_init(&t, &loop, 1, log, at, &n);
  cr_assert_not(ac_loop_due_now(&loop));
  ac_loop_timer_start(&loop, &t.t, 5 * SEC);
  cr_assert_not(ac_loop_due_now(&loop), "a later timer is not due");
  ac_callback cb;
  ac_callback_init(&cb, nop_cb);
  ac_loop_enqueue(&loop, &cb);
  cr_assert(ac_loop_due_now(&loop), "a ready callback is");
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(n, 0, "the clock held while a callback was ready");
  cr_assert_not(ac_loop_due_now(&loop));
  cr_assert_eq(ac_loop_run_once(&loop, 0), 1);
  cr_assert_eq(at[0], 5 * SEC);
  ac_loop_timer_start(&loop, &t.t, ac_loop_now(&loop));
  cr_assert(ac_loop_due_now(&loop), "a timer due at the current time is");
}

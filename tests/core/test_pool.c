#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/loop.h"
#include "core/pool.h"

static ac_loop loop;
static ac_pool pool;
static pthread_t main_thread;

static void setup(void) {
  main_thread = pthread_self();
  cr_assert_eq(ac_loop_init(&loop), 0);
}
static void teardown(void) { ac_loop_close(&loop); }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

typedef struct job {
  ac_work w;
  pthread_t ran_on;     /* thread that ran `work` */
  int worked;           /* `work` ran */
  int done;             /* `done` ran */
  int done_state;       /* w.state seen by `done` */
  int sleep_ms;         /* how long `work` takes */
  int in_pass;          /* `done` ran inside ac_loop_run_once */
  volatile int *gate;   /* `work` spins until *gate is set, when not NULL */
  volatile int started; /* `work` has begun */
} job;

static int in_pass;

static void job_work(ac_work *w) {
  job *j = ac_container_of(w, job, w);
  __atomic_store_n(&j->started, 1, __ATOMIC_SEQ_CST);
  j->ran_on = pthread_self();
  if (j->gate)
    while (!__atomic_load_n(j->gate, __ATOMIC_SEQ_CST)) sleep_ms(1);
  if (j->sleep_ms) sleep_ms(j->sleep_ms);
  j->worked = 1;
}

static void job_done(ac_callback *cb) {
  job *j = ac_container_of(ac_work_of(cb), job, w);
  cr_assert(pthread_equal(pthread_self(), main_thread));
  j->done++;
  j->done_state = j->w.state;
  j->in_pass = in_pass;
}

static void job_init(job *j) {
  memset(j, 0, sizeof *j);
  ac_work_init(&j->w, job_work, job_done);
}

static int run_pass(int may_block) {
  in_pass = 1;
  int r = ac_loop_run_once(&loop, may_block);
  in_pass = 0;
  cr_assert_geq(r, 0);
  return r;
}

static int all_done(job *jobs, int n) {
  for (int i = 0; i < n; i++)
    if (!jobs[i].done) return 0;
  return 1;
}

Test(pool, work_runs_off_thread_done_on_loop_thread, .init = setup, .fini = teardown,
     .timeout = 30) {
  enum { N = 50 };
  static job jobs[N];
  cr_assert_eq(ac_pool_init(&pool, &loop, 4), 0);
  for (int i = 0; i < N; i++) {
    job_init(&jobs[i]);
    jobs[i].sleep_ms = i % 3;
    cr_assert_eq(ac_pool_submit(&pool, &jobs[i].w), 0);
  }
  cr_assert_leq(pool.nthreads, 4);
  while (!all_done(jobs, N)) run_pass(1);
  for (int i = 0; i < N; i++) {
    cr_assert(jobs[i].worked);
    cr_assert_eq(jobs[i].done, 1);
    cr_assert_eq(jobs[i].done_state, AC_WORK_DONE);
    cr_assert(jobs[i].in_pass);
    cr_assert_not(pthread_equal(jobs[i].ran_on, main_thread));
  }
  /* Finished work can no longer be cancelled. */
  cr_assert_eq(ac_pool_cancel(&pool, &jobs[0].w), -EBUSY);
  ac_pool_shutdown(&pool);
  cr_assert_eq(pool.nthreads, 0);
}

Test(pool, threads_start_lazily_up_to_limit, .init = setup, .fini = teardown, .timeout = 30) {
  static job jobs[6];
  volatile int gate = 0;
  cr_assert_eq(ac_pool_init(&pool, &loop, 3), 0);
  cr_assert_eq(pool.nthreads, 0);
  for (int i = 0; i < 6; i++) {
    job_init(&jobs[i]);
    jobs[i].gate = &gate;
    cr_assert_eq(ac_pool_submit(&pool, &jobs[i].w), 0);
  }
  cr_assert_eq(pool.nthreads, 3);
  __atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
  while (!all_done(jobs, 6)) run_pass(1);
  ac_pool_shutdown(&pool);
}

Test(pool, cancel_before_start, .init = setup, .fini = teardown, .timeout = 30) {
  static job blocker, queued, never;
  volatile int gate = 0;
  cr_assert_eq(ac_pool_init(&pool, &loop, 1), 0);
  job_init(&blocker);
  blocker.gate = &gate;
  job_init(&queued);
  job_init(&never);
  cr_assert_eq(ac_pool_cancel(&pool, &never.w), -EINVAL);
  cr_assert_eq(ac_pool_submit(&pool, &blocker.w), 0);
  cr_assert_eq(ac_pool_submit(&pool, &queued.w), 0);
  while (!__atomic_load_n(&blocker.started, __ATOMIC_SEQ_CST)) sleep_ms(1);
  cr_assert_eq(ac_pool_cancel(&pool, &blocker.w), -EBUSY);
  cr_assert_eq(ac_pool_cancel(&pool, &queued.w), 0);
  cr_assert_eq(ac_pool_cancel(&pool, &queued.w), -EBUSY);
  /* `done` of the cancelled job comes through the loop, not from cancel. */
  cr_assert_eq(queued.done, 0);
  while (!queued.done) run_pass(1);
  cr_assert_eq(queued.done_state, AC_WORK_CANCELLED);
  cr_assert_not(queued.worked);
  cr_assert(queued.in_pass);
  __atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
  while (!blocker.done) run_pass(1);
  cr_assert_eq(blocker.done_state, AC_WORK_DONE);
  /* A finished job can be submitted again. */
  cr_assert_eq(ac_pool_submit(&pool, &queued.w), 0);
  queued.done = 0;
  while (!queued.done) run_pass(1);
  cr_assert_eq(queued.done_state, AC_WORK_DONE);
  ac_pool_shutdown(&pool);
}

typedef struct gate_release {
  volatile int *gate;
  int after_ms;
} gate_release;

static void *release_later(void *arg) {
  gate_release *g = arg;
  sleep_ms(g->after_ms);
  __atomic_store_n(g->gate, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

Test(pool, shutdown_with_running_and_queued_work, .init = setup, .fini = teardown,
     .timeout = 30) {
  enum { N = 20 };
  static job jobs[N];
  volatile int gate = 0;
  cr_assert_eq(ac_pool_init(&pool, &loop, 2), 0);
  for (int i = 0; i < N; i++) {
    job_init(&jobs[i]);
    jobs[i].gate = &gate;
    cr_assert_eq(ac_pool_submit(&pool, &jobs[i].w), 0);
  }
  while (!__atomic_load_n(&jobs[0].started, __ATOMIC_SEQ_CST) ||
         !__atomic_load_n(&jobs[1].started, __ATOMIC_SEQ_CST))
    sleep_ms(1);
  /* The two running jobs finish 30 ms into the shutdown. */
  pthread_t th;
  gate_release g = {&gate, 30};
  cr_assert_eq(pthread_create(&th, NULL, release_later, &g), 0);
  uint64_t t0 = ac_clock_ns();
  ac_pool_shutdown(&pool);
  cr_assert_geq(ac_clock_ns() - t0, 20 * 1000000ull);
  pthread_join(th, NULL);
  cr_assert_eq(pool.nthreads, 0);
  cr_assert_eq(ac_pool_submit(&pool, &jobs[0].w), -ESHUTDOWN);
  ac_pool_shutdown(&pool); /* idempotent */
  /* Every `done` is posted; one pass delivers them all. */
  for (int i = 0; i < N; i++) cr_assert_eq(jobs[i].done, 0);
  cr_assert_eq(run_pass(0), N);
  int ran = 0, cancelled = 0;
  for (int i = 0; i < N; i++) {
    cr_assert_eq(jobs[i].done, 1);
    if (jobs[i].done_state == AC_WORK_DONE) {
      cr_assert(jobs[i].worked);
      ran++;
    } else {
      cr_assert_eq(jobs[i].done_state, AC_WORK_CANCELLED);
      cr_assert_not(jobs[i].worked);
      cancelled++;
    }
  }
  cr_assert_eq(ran, 2);
  cr_assert_eq(cancelled, N - 2);
}

Test(pool, shutdown_idle_and_unused, .init = setup, .fini = teardown, .timeout = 30) {
  cr_assert_eq(ac_pool_init(&pool, &loop, 0), 0); /* default size */
  cr_assert_gt(pool.max_threads, 0);
  cr_assert_leq(pool.max_threads, AC_POOL_MAX_THREADS);
  ac_pool_shutdown(&pool);
  cr_assert_eq(ac_pool_init(&pool, &loop, 1000), 0);
  cr_assert_eq(pool.max_threads, AC_POOL_MAX_THREADS);
  static job j;
  job_init(&j);
  cr_assert_eq(ac_pool_submit(&pool, &j.w), 0);
  while (!j.done) run_pass(1);
  sleep_ms(5); /* let the worker go idle */
  ac_pool_shutdown(&pool);
}

static sigset_t worker_mask;
static int mask_seen;

static void mask_work(ac_work *w) {
  (void)w;
  pthread_sigmask(SIG_BLOCK, NULL, &worker_mask);
}

static void mask_done(ac_callback *cb) {
  (void)cb;
  mask_seen = 1;
}

Test(pool, workers_block_signals, .init = setup, .fini = teardown, .timeout = 30) {
  ac_work w;
  ac_work_init(&w, mask_work, mask_done);
  cr_assert_eq(ac_pool_init(&pool, &loop, 1), 0);
  cr_assert_eq(ac_pool_submit(&pool, &w), 0);
  while (!mask_seen) run_pass(1);
  cr_assert_eq(sigismember(&worker_mask, SIGINT), 1);
  cr_assert_eq(sigismember(&worker_mask, SIGUSR1), 1);
  sigset_t mine;
  pthread_sigmask(SIG_BLOCK, NULL, &mine);
  cr_assert_eq(sigismember(&mine, SIGINT), 0);
  ac_pool_shutdown(&pool);
}

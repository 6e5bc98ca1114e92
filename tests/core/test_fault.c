/* Fault injection (core/fault.h), built into this test whatever the build:
 * the Nth request fails and only the ones chosen; the event core's requests
 * (buffers, descriptor watches, worker threads) fail cleanly and leave
 * everything as it was, usable once memory comes back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/fault.h"
#include "core/heap.h"
#include "core/loop.h"
#include "core/pool.h"

static void disarm(void) { ac_fault_disarm(); }

TestSuite(fault, .fini = disarm);

Test(fault, the_nth_request_and_the_count_after_it_fail) {
  ac_fault_arm(3, 2);
  int got[6];
  for (int i = 0; i < 6; i++) got[i] = ac_fault_hit();
  int want[6] = {0, 0, 1, 1, 0, 0};
  cr_assert_arr_eq(got, want, sizeof got);
  cr_assert_eq(ac_fault_requests(), 6);
  cr_assert_eq(ac_fault_failures(), 2);
  ac_fault_arm(2, 0);
  cr_assert(!ac_fault_hit());
  for (int i = 0; i < 100; i++) cr_assert(ac_fault_hit(), "every one from the nth on");
  ac_fault_arm(0, 0);
  for (int i = 0; i < 100; i++) cr_assert(!ac_fault_hit(), "nth 0 only counts");
  cr_assert_eq(ac_fault_requests(), 100);
}

Test(fault, malloc_and_friends_fail) {
  ac_fault_arm(1, 5);
  cr_assert_null(malloc(16));
  cr_assert_null(calloc(2, 8));
  cr_assert_null(realloc(NULL, 16));
  cr_assert_null(strdup("x"));
  cr_assert_null(strndup("xy", 1));
  char *p = malloc(16);
  cr_assert_not_null(p, "the count is spent");
  free(p);
}

Test(fault, retargeting_keeps_the_count_so_far) {
  ac_fault_arm(0, 0);
  for (int i = 0; i < 5; i++) cr_assert(!ac_fault_hit());
  ac_fault_retarget(7, 1); /* the 7th since arming: two requests from now */
  int got[4];
  for (int i = 0; i < 4; i++) got[i] = ac_fault_hit();
  int want[4] = {0, 1, 0, 0};
  cr_assert_arr_eq(got, want, sizeof got);
  cr_assert_eq(ac_fault_requests(), 9);
  cr_assert_eq(ac_fault_failures(), 1);
}

/* A run of the fault server: what it sees on its own lines of stdout. */
static void serve_runs(void) {
  char dir[256];
  ac_fault_arm(0, 0);
  for (int i = 0; i < 3; i++) ac_fault_hit(); /* the requests before the mark */
  int r = ac_fault_serve(dir, sizeof dir);
  if (r < 0) _exit(90);
  /* a run: the 5th request overall (the 2nd of the run) fails, with 1 after it */
  int hits[4];
  for (int i = 0; i < 4; i++) hits[i] = ac_fault_hit();
  char c;
  printf("%s %d%d%d%d %s %zd\n", strrchr(dir, '/') + 1, hits[0], hits[1], hits[2], hits[3],
         getenv("ALUA_OOM_TMPDIR") == NULL ? "-" : "env", read(0, &c, 1));
  fflush(stdout);
  if (hits[0] && hits[1]) raise(SIGTERM); /* the second request's run */
  _exit(7);
}

static long read_answer(FILE *f) {
  char line[32];
  cr_assert_not_null(fgets(line, sizeof line, f), "the server answers");
  return strtol(line, NULL, 10);
}

Test(fault, the_server_forks_a_run_per_request) {
  char base[] = "/tmp/alua-fault-XXXXXX", a[64], b[64], path[128];
  cr_assert_not_null(mkdtemp(base));
  snprintf(a, sizeof a, "%s/a", base);
  snprintf(b, sizeof b, "%s/b", base);
  cr_assert_eq(mkdir(a, 0700), 0);
  cr_assert_eq(mkdir(b, 0700), 0);
  int req[2], ans[2];
  cr_assert_eq(pipe(req), 0);
  cr_assert_eq(pipe(ans), 0);
  pid_t server = fork();
  cr_assert_geq(server, 0);
  if (server == 0) { /* one thread: a fork of this test's process */
    dup2(req[0], 0);
    dup2(ans[1], 1);
    close(req[0]), close(req[1]), close(ans[0]), close(ans[1]);
    serve_runs();
  }
  close(req[0]);
  close(ans[1]);
  FILE *in = fdopen(ans[0], "r");
  dprintf(req[1], "5 1 %s\n", a);
  cr_assert_gt(read_answer(in), 0, "a pid");
  cr_assert_eq(read_answer(in), 7, "the run's exit status");
  dprintf(req[1], "4 2 %s\n", b);
  cr_assert_gt(read_answer(in), 0);
  cr_assert_eq(read_answer(in), -SIGTERM, "minus the signal that ended the run");
  close(req[1]); /* the end of the requests ends the server */
  int status;
  cr_assert_eq(waitpid(server, &status, 0), server);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fclose(in);
  char line[64];
  const char *want[2] = {"a 0100 env 0\n", "b 1100 env 0\n"};
  const char *dirs[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/stdout", dirs[i]);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "the run's stdout is DIR/stdout");
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, want[i]);
    fclose(f);
    snprintf(path, sizeof path, "%s/stdout", dirs[i]);
    unlink(path);
    snprintf(path, sizeof path, "%s/stderr", dirs[i]);
    cr_assert_eq(unlink(path), 0, "and its stderr DIR/stderr");
    rmdir(dirs[i]);
  }
  rmdir(base);
}

static void *parked(void *arg) {
  pause();
  return arg;
}

Test(fault, the_server_refuses_a_process_with_threads) {
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, parked, NULL), 0);
  char dir[64];
  cr_assert_eq(ac_fault_serve(dir, sizeof dir), -EBUSY);
  pthread_cancel(th);
  pthread_join(th, NULL);
}

static void *other_thread(void *arg) {
  void *p = malloc(8); /* not the arming thread: never fails, not counted */
  int ok = p != NULL;
  free(p);
  return ok ? arg : NULL;
}

Test(fault, only_the_arming_thread_counts) {
  ac_fault_arm(1, 0);
  pthread_t th;
  ac_fault_disarm(); /* pthread_create may allocate in this thread */
  static int token;
  cr_assert_eq(pthread_create(&th, NULL, other_thread, &token), 0);
  ac_fault_arm(1, 0);
  void *r;
  ac_fault_disarm();
  pthread_join(th, &r);
  cr_assert_not_null(r);
  cr_assert_eq(ac_fault_requests(), 0);
}

Test(fault, a_buffer_that_cannot_grow_is_unchanged) {
  ac_buf b;
  ac_buf_init(&b);
  ac_fault_arm(1, 1);
  cr_assert_eq(ac_buf_append(&b, "hello", 5), -ENOMEM);
  cr_assert_null(b.data);
  cr_assert_eq(ac_buf_len(&b), 0);
  cr_assert_eq(ac_buf_append(&b, "hello", 5), 0);
  size_t cap = b.cap;
  ac_fault_arm(1, 1);
  cr_assert_eq(ac_buf_reserve(&b, cap * 4), -ENOMEM);
  cr_assert_eq(b.cap, cap);
  cr_assert_eq(ac_buf_len(&b), 5);
  cr_assert_eq(memcmp(ac_buf_head(&b), "hello", 5), 0);
  cr_assert_eq(ac_buf_reserve(&b, cap * 4), 0);
  cr_assert_eq(memcmp(ac_buf_head(&b), "hello", 5), 0);
  ac_buf_free(&b);
}

static int fired;
static void on_ready(ac_io *io, uint32_t ev) {
  uint64_t n;
  fired++;
  cr_assert_eq(read(io->fd, &n, sizeof n), (ssize_t)sizeof n);
}

Test(fault, a_watch_that_cannot_be_added_leaves_the_loop_as_it_was) {
  ac_loop loop;
  cr_assert_eq(ac_loop_init(&loop), 0);
  int fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
  ac_io io;
  ac_io_init(&io, fd, on_ready);
  ac_fault_arm(1, 1);
  cr_assert_eq(ac_io_start(&loop, &io, EPOLLIN), -ENOMEM);
  cr_assert_eq(io.events, 0);
  cr_assert(!ac_loop_alive(&loop), "nothing is watched");
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
  cr_assert_eq(fired, 0);
  cr_assert_eq(ac_io_start(&loop, &io, EPOLLIN), 0, "memory is back");
  cr_assert_eq(ac_loop_run_once(&loop, 0), 0);
  cr_assert_eq(fired, 1);
  ac_io_stop(&loop, &io);
  close(fd);
  ac_loop_close(&loop);
}

static void work(ac_work *w) {}
static int done;
static void on_done(ac_callback *cb) { done++; }

Test(fault, a_worker_that_cannot_start_refuses_the_job) {
  ac_loop loop;
  ac_pool pool;
  cr_assert_eq(ac_loop_init(&loop), 0);
  cr_assert_eq(ac_pool_init(&pool, &loop, 2), 0);
  ac_work w;
  ac_work_init(&w, work, on_done);
  ac_fault_arm(1, 1);
  cr_assert_eq(ac_pool_submit(&pool, &w), -EAGAIN);
  ac_fault_disarm();
  cr_assert_eq(w.state, AC_WORK_IDLE, "not queued");
  cr_assert_eq(ac_pool_submit(&pool, &w), 0, "threads are back");
  while (!done) ac_loop_run_once(&loop, 1);
  cr_assert_eq(w.state, AC_WORK_DONE);
  ac_pool_shutdown(&pool);
  ac_loop_close(&loop);
}

static void nop_timer(ac_timer *t) { (void)t; }

Test(fault, timers_that_find_no_room_still_come_out_in_order) {
  enum { N = 200 };
  static ac_timer t[N];
  ac_heap h;
  ac_heap_init(&h);
  /* the first 64 fit in the first array; no memory for a bigger one */
  for (int i = 0; i < 64; i++) {
    ac_timer_init(&t[i], nop_timer);
    ac_heap_insert(&h, &t[i], (uint64_t)(1000 - i));
  }
  ac_fault_arm(1, 0);
  for (int i = 64; i < 100; i++) {
    ac_timer_init(&t[i], nop_timer);
    ac_heap_insert(&h, &t[i], (uint64_t)(1000 - i));
  }
  cr_assert_eq(h.count, 64);
  cr_assert_eq(h.nspilled, 36);
  cr_assert_eq(ac_heap_size(&h), 100);
  cr_assert_eq(ac_heap_min(&h), &t[99], "a spilled timer is the earliest");
  ac_heap_insert(&h, &t[98], 2000); /* moving a spilled timer */
  ac_heap_remove(&h, &t[70]);       /* removing one */
  cr_assert_not(ac_timer_active(&t[70]));
  cr_assert_eq(ac_heap_size(&h), 99);
  /* memory is back: the next insertion takes the spilled ones in */
  ac_fault_disarm();
  for (int i = 100; i < N; i++) {
    ac_timer_init(&t[i], nop_timer);
    ac_heap_insert(&h, &t[i], (uint64_t)(1000 - i));
  }
  cr_assert_eq(h.nspilled, 0);
  cr_assert_eq(ac_heap_size(&h), N - 1);
  uint64_t prev = 0;
  for (int n = 0; n < N - 1; n++) {
    ac_timer *m = ac_heap_min(&h);
    cr_assert_not_null(m);
    cr_assert_neq(m, &t[70]);
    cr_assert_geq(m->deadline, prev);
    prev = m->deadline;
    ac_heap_remove(&h, m);
  }
  cr_assert_null(ac_heap_min(&h));
  cr_assert_eq(t[98].deadline, 2000);
  ac_heap_close(&h);
}

#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fault.h"

/* Drains the eventfd, then disarms. In this order a wake that lands between
 * the read and the store only finds the flag still set and skips its write,
 * which is harmless because this pass is already awake and looks at `posted`
 * afterwards; the reverse order could swallow a write and leave the flag set
 * with nothing to clear it. */
static void on_wake(ac_io *io, uint32_t revents) {
  ac_loop *loop = ac_container_of(io, ac_loop, waker);
  uint64_t n;
  ssize_t r;
  (void)revents;
  do r = read(loop->wakefd, &n, sizeof n);
  while (r < 0 && errno == EINTR);
  __atomic_store_n(&loop->wake_armed, 0, __ATOMIC_SEQ_CST);
  loop->woken = 1;
}

int ac_loop_init(ac_loop *loop) {
  int err;
  memset(loop, 0, sizeof *loop);
  ac_heap_init(&loop->timers);
  ac_list_init(&loop->ready);
  ac_list_init(&loop->running);
  ac_list_init(&loop->posted);
  loop->use_pwait2 = 1;
  loop->now = ac_clock_ns();
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd < 0) return -errno;
  loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (loop->wakefd < 0) {
    err = -errno;
    goto fail_ep;
  }
  err = -pthread_mutex_init(&loop->post_mu, NULL);
  if (err) goto fail_wake;
  ac_io_init(&loop->waker, loop->wakefd, on_wake);
  err = ac_io_start(loop, &loop->waker, EPOLLIN);
  if (err) goto fail_mu;
  loop->nio = 0; /* the waker is not counted */
  return 0;

fail_mu:
  pthread_mutex_destroy(&loop->post_mu);
fail_wake:
  close(loop->wakefd);
fail_ep:
  close(loop->epfd);
  loop->epfd = loop->wakefd = -1;
  return err;
}

void ac_loop_close(ac_loop *loop) {
  if (loop->epfd < 0) return;
  close(loop->epfd);
  close(loop->wakefd);
  pthread_mutex_destroy(&loop->post_mu);
  ac_heap_close(&loop->timers);
  loop->epfd = loop->wakefd = -1;
}

void ac_loop_enqueue(ac_loop *loop, ac_callback *cb) {
  ac_list_push_back(&loop->ready, &cb->link);
}

void ac_loop_enqueue_all(ac_loop *loop, ac_list *list) { ac_list_splice(&loop->ready, list); }

void ac_loop_timer_start(ac_loop *loop, ac_timer *t, uint64_t deadline) {
  ac_heap_insert(&loop->timers, t, deadline);
}

void ac_loop_timer_stop(ac_loop *loop, ac_timer *t) {
  ac_heap_remove(&loop->timers, t);
}

int ac_io_start(ac_loop *loop, ac_io *io, uint32_t events) {
  if (events == 0) return ac_io_stop(loop, io);
  if (events == io->events) return 0;
  struct epoll_event ev = {.events = events, .data.ptr = io};
  int op = io->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  /* adding takes kernel memory: may fail in a fault build (fault.h) */
  if (op == EPOLL_CTL_ADD && ac_fault_hit()) return -ENOMEM;
  if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0) return -errno;
  if (op == EPOLL_CTL_ADD) loop->nio++;
  io->events = events;
  return 0;
}

int ac_io_stop(ac_loop *loop, ac_io *io) {
  if (io->events == 0) return 0;
  int err = 0;
  struct epoll_event ev = {0};
  /* ENOENT/EBADF: the fd was closed and has already left the set. */
  if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, &ev) < 0 && errno != ENOENT && errno != EBADF)
    err = -errno;
  io->events = 0;
  loop->nio--;
  /* The owner may free io as soon as this returns. */
  for (int i = 0; i < loop->nbatch; i++)
    if (loop->batch[i].data.ptr == io) loop->batch[i].data.ptr = NULL;
  return err;
}

int ac_loop_wake(ac_loop *loop) {
  if (__atomic_exchange_n(&loop->wake_armed, 1, __ATOMIC_SEQ_CST)) return 0;
  int saved = errno; /* a signal handler must leave errno as it found it */
  uint64_t one = 1;
  ssize_t r;
  do r = write(loop->wakefd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
  int err = 0;
  /* EAGAIN means the counter is saturated, which is readable anyway. */
  if (r < 0 && errno != EAGAIN) {
    err = -errno;
    __atomic_store_n(&loop->wake_armed, 0, __ATOMIC_SEQ_CST);
  }
  errno = saved;
  return err;
}

int ac_loop_post(ac_loop *loop, ac_callback *cb) {
  pthread_mutex_lock(&loop->post_mu);
  ac_list_push_back(&loop->posted, &cb->link);
  pthread_mutex_unlock(&loop->post_mu);
  /* cb may already have run and been freed by now; only the loop is touched. */
  return ac_loop_wake(loop);
}

int ac_loop_fd(const ac_loop *loop) { return loop->epfd; }

/* Virtual time: while external work is outstanding the clock keeps pace
 * with the real one; otherwise it stands still between jumps. */
static void virtual_follow(ac_loop *loop) {
  if (loop->external == 0) return;
  uint64_t real = ac_clock_ns();
  loop->now += real - loop->vreal;
  loop->vreal = real;
}

uint64_t ac_loop_update_time(ac_loop *loop) {
  if (__builtin_expect(loop->virtual_time, 0)) {
    virtual_follow(loop);
    return loop->now;
  }
  loop->now = ac_clock_ns();
  return loop->now;
}

int ac_loop_set_virtual_time(ac_loop *loop, int on) {
  if (ac_heap_min(&loop->timers)) return -EBUSY;
  loop->virtual_time = on != 0;
  loop->vreal = ac_clock_ns();
  loop->now = on ? 0 : loop->vreal;
  return 0;
}

void ac_loop_external_begin(ac_loop *loop) {
  /* the clock follows the real one from here on */
  if (loop->external++ == 0 && loop->virtual_time) loop->vreal = ac_clock_ns();
}

int ac_loop_external_end(ac_loop *loop) {
  if (loop->external <= 0) return -EINVAL;
  /* the time the work took counts before the clock stops following */
  if (loop->virtual_time) virtual_follow(loop);
  loop->external--;
  return 0;
}

int ac_loop_due_now(const ac_loop *loop) {
  if (!ac_list_empty(&loop->ready) || !ac_list_empty(&loop->running)) return 1;
  const ac_timer *t = ac_heap_min(&loop->timers);
  return t && t->deadline <= loop->now;
}

int ac_loop_alive(const ac_loop *loop) {
  return !ac_list_empty(&loop->ready) || !ac_list_empty(&loop->running) || ac_heap_size(&loop->timers) > 0 ||
         loop->nio > 0 || loop->external > 0;
}

int ac_loop_timeout_ms(ac_loop *loop) {
  if (!ac_list_empty(&loop->ready) || !ac_list_empty(&loop->running)) return 0;
  ac_timer *t = ac_heap_min(&loop->timers);
  if (!t) return -1;
  if (loop->virtual_time && loop->external == 0) return 0; /* the next pass jumps */
  uint64_t now = ac_loop_update_time(loop);
  if (t->deadline <= now) return 0;
  uint64_t ms = (t->deadline - now + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Waits up to `ns` nanoseconds (UINT64_MAX: forever) and returns what
 * epoll_wait returns. Sleeps at least `ns`: the millisecond fallback rounds
 * up, so a timer is never found not yet due after a full wait. */
static int poll_wait(ac_loop *loop, struct epoll_event *evs, uint64_t ns) {
  if (ns == 0) return epoll_wait(loop->epfd, evs, AC_LOOP_MAX_EVENTS, 0);
  if (ns == UINT64_MAX) return epoll_wait(loop->epfd, evs, AC_LOOP_MAX_EVENTS, -1);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
  if (loop->use_pwait2) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    int n = epoll_pwait2(loop->epfd, evs, AC_LOOP_MAX_EVENTS, &ts, NULL);
    if (n >= 0 || errno != ENOSYS) return n;
    loop->use_pwait2 = 0;
  }
#endif
  uint64_t ms = (ns + 999999) / 1000000;
  return epoll_wait(loop->epfd, evs, AC_LOOP_MAX_EVENTS, ms > INT_MAX ? INT_MAX : (int)ms);
}

/* Waits up to `ns` for events (0: just looks) and runs the watchers of
 * those that came. Returns the number of events taken, or -errno (-EINTR
 * when a signal cut the wait short).
 *
 * Why the batch and the running list live in the loop and not on the stack:
 * a callback may never return (a Lua error unwinding through the core with
 * longjmp), and the next pass must find consistent lists, not a dangling
 * stack frame. Whatever an aborted pass left is simply picked up again. */
/* Inlined: the real-clock pass calls it on every pass. */
static inline __attribute__((always_inline)) int wait_and_dispatch(ac_loop *loop, uint64_t ns) {
  struct epoll_event *evs = loop->batch;
  loop->nbatch = 0;
  /* Nothing to wait for and no descriptor but the waker, which is not
   * armed: no event can be there, so spare the system call (a pass that
   * only runs callbacks, as when tasks hand items to each other). */
  if (ns == 0 && loop->nio == 0 && !__atomic_load_n(&loop->wake_armed, __ATOMIC_SEQ_CST)) return 0;
  int n = poll_wait(loop, evs, ns);
  if (n < 0) return -errno;
  loop->nbatch = n;
  for (int i = 0; i < loop->nbatch; i++) {
    ac_io *io = evs[i].data.ptr;
    if (!io) continue; /* stopped by an earlier watcher of this batch */
    evs[i].data.ptr = NULL; /* dispatched: an aborted pass must not run it twice */
    /* An earlier watcher may have narrowed io's mask since the wait. */
    uint32_t rev = evs[i].events & (io->events | EPOLLERR | EPOLLHUP);
    if (rev) io->fn(io, rev);
  }
  loop->nbatch = 0;
  return n;
}

/* The poll phase under virtual time (see loop.h); kept out of line so that
 * the real-clock pass stays as small as before. */
static __attribute__((noinline, cold)) int poll_virtual(ac_loop *loop, int may_block) {
  int n;
  if (!ac_list_empty(&loop->ready) || !ac_list_empty(&loop->running)) {
    n = wait_and_dispatch(loop, 0);
    if (n < 0 && n != -EINTR) return n;
    virtual_follow(loop);
    return 0;
  }
  ac_timer *t = ac_heap_min(&loop->timers);
  /* read before the watchers run: they may stop the timer or free it */
  uint64_t deadline = t ? t->deadline : UINT64_MAX;
  if (loop->external == 0 && t) {
    /* Jump, unless a descriptor is ready right now (or a signal cut the
     * look short: the next pass looks again). */
    n = wait_and_dispatch(loop, 0);
    if (n < 0) return n == -EINTR ? 0 : n;
    if (n == 0 && deadline > loop->now) loop->now = deadline;
    return 0;
  }
  uint64_t ns = 0;
  if (may_block) {
    /* Without external work only a descriptor can wake the loop, and the
     * clock stands still meanwhile; with some, wait in real time for it or
     * for the earliest deadline. */
    uint64_t now = ac_loop_update_time(loop);
    ns = deadline == UINT64_MAX ? UINT64_MAX : deadline > now ? deadline - now : 0;
  }
  n = wait_and_dispatch(loop, ns);
  if (n < 0 && n != -EINTR) return n;
  virtual_follow(loop);
  /* A wait cut short by the deadline reads the deadline exactly; the
   * real-time overshoot of the wake-up is dropped. */
  if (n == 0 && ns != 0 && ns != UINT64_MAX && loop->now > deadline) loop->now = deadline;
  return 0;
}

/* The wake-up time for a timer due at `deadline`: the next whole
 * millisecond of the clock (see ac_loop_run_once in loop.h). Timers due
 * close together, as when 100k tasks each sleep a delay computed from a
 * fresh clock read, then cost a few hundred wake-ups rather than one per
 * distinct deadline (each a context switch of tens of microseconds). */
#define WAKE_GRAIN_NS 1000000u

static uint64_t wake_at(uint64_t deadline) {
  uint64_t r = deadline % WAKE_GRAIN_NS;
  if (r == 0 || deadline > UINT64_MAX - WAKE_GRAIN_NS) return deadline;
  return deadline - r + WAKE_GRAIN_NS;
}

static int poll_io(ac_loop *loop, int may_block) {
  if (__builtin_expect(loop->virtual_time, 0)) return poll_virtual(loop, may_block);
  uint64_t ns = 0;
  if (may_block && ac_list_empty(&loop->ready) && ac_list_empty(&loop->running)) {
    ac_timer *t = ac_heap_min(&loop->timers);
    uint64_t now = ac_loop_update_time(loop);
    if (!t)
      ns = UINT64_MAX;
    else if (t->deadline > now)
      ns = wake_at(t->deadline) - now;
  }
  int n = wait_and_dispatch(loop, ns);
  return n < 0 && n != -EINTR ? n : 0;
}

static void take_posted(ac_loop *loop) {
  if (!loop->woken) return; /* every post is followed by a wake; see on_wake */
  loop->woken = 0;
  pthread_mutex_lock(&loop->post_mu);
  ac_list_splice(&loop->ready, &loop->posted);
  pthread_mutex_unlock(&loop->post_mu);
}

static int run_timers(ac_loop *loop) {
  /* Stop at the first timer started during this phase (seq >= limit): one
   * that restarts itself at or before `now` would otherwise spin forever.
   * Due timers ordered after it simply fire next pass, still in order. */
  uint64_t limit = loop->timers.next_seq;
  int ran = 0;
  ac_timer *t;
  while ((t = ac_heap_min(&loop->timers)) && t->deadline <= loop->now && t->seq < limit) {
    ac_heap_remove(&loop->timers, t);
    t->fn(t);
    ran++;
  }
  return ran;
}

static int run_ready(ac_loop *loop) {
  /* Callbacks enqueued from here on go to loop->ready, i.e. the next pass;
   * a callback cancelled by an earlier one leaves `running` and never runs.
   * Leftovers of an aborted pass are still at the front of `running`. */
  ac_list *n;
  int ran = 0;
  ac_list_splice(&loop->running, &loop->ready);
  while ((n = ac_list_pop_front(&loop->running))) {
    ac_callback *cb = ac_container_of(n, ac_callback, link);
    cb->fn(cb);
    ran++;
  }
  return ran;
}

int ac_loop_run_once(ac_loop *loop, int may_block) {
  int err = poll_io(loop, may_block);
  if (err) return err;
  take_posted(loop);
  int ran = 0;
  if (ac_heap_min(&loop->timers)) {
    /* the clock matters to timers only; loop:time() reads it afresh. A
     * virtual clock was settled by the poll phase (followed, jumped or
     * stopped at a deadline): reading it again would move it off. */
    if (__builtin_expect(!loop->virtual_time, 1)) loop->now = ac_clock_ns();
    ran = run_timers(loop);
  }
  return ran + run_ready(loop);
}

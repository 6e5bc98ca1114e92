#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "core/loop.h"
#include "core/signal.h"
#include "core/sock.h"

static ac_loop loop;
static ac_signals sigs;
static int got[NSIG];
static int in_pass;
static int outside_pass;

static void on_signal(ac_signals *s, int signum) {
  cr_assert_eq(s, &sigs);
  got[signum]++;
  if (!in_pass) outside_pass = 1;
}

static void setup(void) {
  memset(got, 0, sizeof got);
  outside_pass = 0;
  cr_assert_eq(ac_loop_init(&loop), 0);
  cr_assert_eq(ac_signals_init(&sigs, &loop, on_signal), 0);
}

static void teardown(void) {
  ac_signals_close(&sigs);
  ac_loop_close(&loop);
}

static void pass(int may_block) {
  in_pass = 1;
  cr_assert_geq(ac_loop_run_once(&loop, may_block), 0);
  in_pass = 0;
}

static int blocked(int signum) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  return sigismember(&cur, signum);
}

Test(signal, raise_delivered_through_signalfd, .init = setup, .fini = teardown, .timeout = 30) {
  cr_assert_eq(blocked(SIGUSR1), 0);
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR1), 0);
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR1), 0); /* already watched */
  cr_assert_eq(blocked(SIGUSR1), 1);
  cr_assert_eq(loop.nio, 1);
  cr_assert_eq(raise(SIGUSR1), 0);
  /* Blocking pass: the signalfd is what wakes it. */
  while (!got[SIGUSR1]) pass(1);
  cr_assert_eq(got[SIGUSR1], 1);
  cr_assert_not(outside_pass);
  cr_assert_eq(raise(SIGUSR1), 0);
  while (got[SIGUSR1] < 2) pass(1);
  cr_assert_eq(ac_signals_remove(&sigs, SIGUSR1), 0);
  cr_assert_eq(blocked(SIGUSR1), 0);
  cr_assert_eq(loop.nio, 0);
  cr_assert_eq(ac_signals_remove(&sigs, SIGUSR1), -ENOENT);
}

Test(signal, several_signals, .init = setup, .fini = teardown, .timeout = 30) {
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR1), 0);
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR2), 0);
  cr_assert_eq(ac_signals_add(&sigs, SIGRTMIN + 1), 0);
  raise(SIGUSR2);
  raise(SIGRTMIN + 1);
  raise(SIGUSR1);
  while (!got[SIGUSR1] || !got[SIGUSR2] || !got[SIGRTMIN + 1]) pass(1);
  cr_assert_eq(ac_signals_remove(&sigs, SIGUSR2), 0);
  cr_assert_eq(blocked(SIGUSR2), 0);
  cr_assert_eq(blocked(SIGUSR1), 1);
  cr_assert_eq(loop.nio, 1);
  raise(SIGUSR1);
  while (got[SIGUSR1] < 2) pass(1);
  ac_signals_close(&sigs);
  cr_assert_eq(blocked(SIGUSR1), 0);
  cr_assert_eq(blocked(SIGRTMIN + 1), 0);
  cr_assert_eq(loop.nio, 0);
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR1), -EBADF);
}

Test(signal, removing_discards_pending_delivery, .init = setup, .fini = teardown) {
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR1), 0);
  raise(SIGUSR1);
  /* Not read yet; unblocking now would kill the process with SIGUSR1. */
  cr_assert_eq(ac_signals_remove(&sigs, SIGUSR1), 0);
  cr_assert_eq(blocked(SIGUSR1), 0);
  pass(0);
  cr_assert_eq(got[SIGUSR1], 0);
}

Test(signal, keeps_signals_blocked_before, .init = setup, .fini = teardown) {
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &one, NULL);
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR2), 0);
  raise(SIGUSR2);
  pass(0);
  cr_assert_eq(got[SIGUSR2], 1);
  cr_assert_eq(ac_signals_remove(&sigs, SIGUSR2), 0);
  cr_assert_eq(blocked(SIGUSR2), 1); /* it was blocked before: stays blocked */
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

Test(signal, invalid_signals, .init = setup, .fini = teardown) {
  cr_assert_eq(ac_signals_add(&sigs, 0), -EINVAL);
  cr_assert_eq(ac_signals_add(&sigs, -3), -EINVAL);
  cr_assert_eq(ac_signals_add(&sigs, NSIG), -EINVAL);
  cr_assert_eq(ac_signals_add(&sigs, SIGKILL), -EINVAL);
  cr_assert_eq(ac_signals_add(&sigs, SIGSTOP), -EINVAL);
  cr_assert_eq(ac_signals_remove(&sigs, 0), -EINVAL);
  cr_assert_eq(ac_signals_remove(&sigs, SIGINT), -ENOENT);
  cr_assert_eq(loop.nio, 0);
}

static void close_in_callback(ac_signals *s, int signum) {
  got[signum]++;
  ac_signals_close(s);
}

Test(signal, callback_may_close, .init = setup, .fini = teardown) {
  sigs.fn = close_in_callback;
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR1), 0);
  cr_assert_eq(ac_signals_add(&sigs, SIGUSR2), 0);
  raise(SIGUSR1);
  raise(SIGUSR2);
  pass(0);
  cr_assert_eq(got[SIGUSR1] + got[SIGUSR2], 1);
  cr_assert_eq(sigs.io.fd, -1);
  cr_assert_eq(blocked(SIGUSR1), 0);
  cr_assert_eq(blocked(SIGUSR2), 0);
}

/* Closed-loop load generator of the echo workload (scripts/bench).
 *
 *   loadgen HOST PORT CONNECTIONS SIZE SECONDS
 *
 * Opens CONNECTIONS TCP connections; each sends a SIZE-byte message, waits
 * for all of it to come back, checks every byte, and sends the next one.
 * After a short warm-up it counts round trips for SECONDS, writing `@start`
 * and `@end` on stdout as the measured section begins and ends (the harness
 * samples the server's CPU time there), then prints
 *
 *   requests=<n> seconds=<s> rps=<n/s> errors=<mismatched messages>
 *   p50=<us> p99=<us> p999=<us>
 *
 * the percentiles being the latency of the requests completed in the
 * measured section, from the send of a message to the last byte of its echo,
 * in microseconds.
 *
 * One thread, level-triggered epoll: one recv and one send per message,
 * the least any client can do, so that it costs no more per request than
 * the servers it measures. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP_NS 300000000ull

typedef struct conn {
  int fd;          /* connected socket */
  int id;          /* index, mixed into the message bytes */
  uint64_t seq;    /* messages sent so far */
  uint64_t sent_at; /* when the message in flight was sent, ns */
  size_t sent;     /* bytes of the current message sent */
  size_t got;      /* bytes of the current echo received */
  int busy;        /* a message is in flight */
  char *msg;       /* the message in flight */
  char *buf;       /* what came back */
} conn;

static size_t size;
static int nconn;
static conn *cs;
static double seconds;
static uint64_t counted, errors;
static uint32_t *lat;      /* latencies of the counted requests, us */
static size_t nlat, caplat;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fills c->msg for its next sequence number. */
static void next_message(conn *c) {
  c->seq++;
  for (size_t j = 0; j < size; j++) c->msg[j] = (char)((c->seq * 31 + (uint64_t)c->id * 7 + j) & 0xff);
  c->sent = c->got = 0;
  c->busy = 1;
  c->sent_at = now_ns();
}

/* A complete echo came back: check it, and count its latency when it
 * completes in the measured section. */
static void finished(conn *c, int measuring) {
  if (memcmp(c->buf, c->msg, size) != 0) errors++;
  if (measuring) {
    counted++;
    if (nlat == caplat) {
      caplat = caplat ? caplat * 2 : 65536;
      lat = realloc(lat, caplat * sizeof *lat);
      if (!lat) {
        perror("loadgen: realloc");
        exit(1);
      }
    }
    uint64_t us = (now_ns() - c->sent_at) / 1000;
    lat[nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  }
  c->busy = 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The latency below which a fraction q of the counted requests fall, us. */
static uint32_t percentile(double q) {
  if (nlat == 0) return 0;
  size_t i = (size_t)(q * (double)nlat);
  if (i >= nlat) i = nlat - 1;
  return lat[i];
}

/* The measured window: warm-up, @start, SECONDS, @end. */
typedef struct window {
  uint64_t from, to;
  int measuring, over;
} window;

static window win; /* the one window of this run */

static void window_init(window *w) {
  w->from = now_ns() + WARMUP_NS;
  w->to = 0;
  w->measuring = w->over = 0;
}

static void window_tick(window *w) {
  uint64_t t = now_ns();
  if (!w->measuring && !w->over && t >= w->from) {
    w->measuring = 1;
    fputs("@start\n", stdout);
    fflush(stdout);
    w->from = now_ns();
    w->to = w->from + (uint64_t)(seconds * 1e9);
  } else if (w->measuring && t >= w->to) {
    w->measuring = 0;
    w->over = 1;
    w->to = now_ns();
    fputs("@end\n", stdout);
    fflush(stdout);
  }
}

/* -- epoll --------------------------------------------------------------------- */

static int send_all(conn *c) {
  while (c->sent < size) {
    ssize_t n = send(c->fd, c->msg + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue; /* small messages: never full for long */
      return -1;
    }
    c->sent += (size_t)n;
  }
  return 0;
}

static int run_epoll(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < nconn; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    next_message(&cs[i]);
    if (send_all(&cs[i]) < 0) {
      perror("loadgen: send");
      return -1;
    }
  }
  window_init(&win);
  window *wp = &win;
  int inflight = nconn;
  struct epoll_event evs[256];
  while (inflight > 0) {
    int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) {
      perror("loadgen: epoll_wait");
      return -1;
    }
    window_tick(wp);
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (!c->busy) continue;
      ssize_t r = recv(c->fd, c->buf + c->got, size - c->got, 0);
      if (r == 0) {
        fprintf(stderr, "loadgen: the server closed connection %d\n", c->id);
        return -1;
      }
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        perror("loadgen: recv");
        return -1;
      }
      c->got += (size_t)r;
      if (c->got < size) continue;
      finished(c, wp->measuring);
      if (wp->over) {
        inflight--;
        continue;
      }
      next_message(c);
      if (send_all(c) < 0) {
        perror("loadgen: send");
        return -1;
      }
    }
  }
  close(ep);
  return 0;
}

/* A graceful goodbye: half-close, then read to the end of the stream, so
 * the server sees a clean close and not a reset. */
static void goodbye(void) {
  struct pollfd *pf = calloc((size_t)nconn, sizeof *pf);
  for (int i = 0; i < nconn; i++) {
    shutdown(cs[i].fd, SHUT_WR);
    pf[i].fd = cs[i].fd;
    pf[i].events = POLLIN;
  }
  int open_conns = nconn;
  uint64_t give_up = now_ns() + 2000000000ull;
  char sink[4096];
  while (open_conns > 0 && now_ns() < give_up) {
    if (poll(pf, (nfds_t)nconn, 100) <= 0) continue;
    for (int i = 0; i < nconn; i++) {
      if (pf[i].fd < 0 || !pf[i].revents) continue;
      ssize_t r = recv(pf[i].fd, sink, sizeof sink, MSG_DONTWAIT);
      if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      close(pf[i].fd);
      pf[i].fd = -1;
      open_conns--;
    }
  }
  free(pf);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SIZE SECONDS\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  nconn = atoi(argv[3]);
  size = (size_t)atol(argv[4]);
  seconds = atof(argv[5]);
  if (nconn < 1 || size < 1 || seconds <= 0) {
    fprintf(stderr, "loadgen: bad arguments\n");
    return 2;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "loadgen: bad host %s\n", host);
    return 2;
  }
  cs = calloc((size_t)nconn, sizeof *cs);
  for (int i = 0; i < nconn; i++) {
    conn *c = &cs[i];
    c->id = i;
    c->msg = malloc(size);
    c->buf = malloc(size);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      perror("loadgen: connect");
      return 1;
    }
    int on = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  int rc = run_epoll();
  if (rc < 0) return 1;
  double secs = (double)(win.to - win.from) / 1e9;
  qsort(lat, nlat, sizeof *lat, cmp_u32);
  printf("requests=%llu seconds=%.3f rps=%.0f errors=%llu p50=%u p99=%u p999=%u\n", (unsigned long long)counted,
         secs, (double)counted / secs, (unsigned long long)errors, percentile(0.50), percentile(0.99),
         percentile(0.999));
  fflush(stdout);
  goodbye();
  return errors ? 3 : 0;
}

/* Small descriptor and socket helpers for the I/O layers: non-blocking,
 * close-on-exec descriptors, numeric and Unix-socket addresses, listening,
 * connecting and accepting. Every descriptor made here is non-blocking and
 * close-on-exec from birth (no window for a concurrent exec to inherit it).
 * Functions return a descriptor, 0, or a negative errno; none resolves names
 * (the bindings do that on the worker pool). */
#ifndef ALUA_CORE_SOCK_H
#define ALUA_CORE_SOCK_H

#include <stddef.h>
#include <sys/socket.h>

/* Puts fd in non-blocking mode. */
int ac_set_nonblock(int fd);

/* Sets FD_CLOEXEC on fd. */
int ac_set_cloexec(int fd);

/* A socket address of any family this layer handles (IPv4, IPv6, Unix). */
typedef struct ac_addr {
  struct sockaddr_storage ss; /* the address; ss.ss_family says which */
  socklen_t len;              /* bytes of ss in use */
} ac_addr;

/* Longest text ac_addr_format writes for a host, with its NUL. */
#define AC_ADDR_HOSTLEN 128

/* Fills a from a numeric IPv4 or IPv6 address ("127.0.0.1", "::1",
 * "fe80::1%eth0") and a port; family AF_UNSPEC accepts either, AF_INET or
 * AF_INET6 only that one. -EINVAL when host is not a numeric address of an
 * accepted family or port is outside 0..65535. */
int ac_addr_ip(ac_addr *a, int family, const char *host, int port);

/* Fills a with a Unix socket path of len bytes; a path starting with '\0'
 * names the abstract namespace. -ENAMETOOLONG when it does not fit. */
int ac_addr_unix(ac_addr *a, const char *path, size_t len);

/* Writes the host of an IP address (numeric) or the path of a Unix address
 * ("" for an unnamed one; a leading '@' for the abstract namespace) into host
 * and the port into *port (0 for Unix). -EAFNOSUPPORT for other families. */
int ac_addr_format(const struct sockaddr *sa, socklen_t len, char *host, size_t hostlen, int *port);

/* A new non-blocking, close-on-exec socket. */
int ac_socket(int family, int type, int protocol);

/* Options of ac_sock_listen / ac_sock_bind. */
enum {
  AC_SOCK_REUSEADDR = 1, /* SO_REUSEADDR (not for Unix sockets) */
  AC_SOCK_REUSEPORT = 2, /* SO_REUSEPORT */
  AC_SOCK_V6ONLY = 4,    /* IPV6_V6ONLY on an IPv6 socket */
  AC_SOCK_BROADCAST = 8, /* SO_BROADCAST (datagram sockets) */
};

/* A new socket of `type` bound to a with the AC_SOCK_* flags. */
int ac_sock_bind(const ac_addr *a, int type, int flags);

/* A new stream socket bound to a and listening with `backlog`. */
int ac_sock_listen(const ac_addr *a, int backlog, int flags);

/* Starts connecting fd to a: 0 when connected at once, -EINPROGRESS when the
 * result comes later (wait for writability, then ac_sock_error), else the
 * error. */
int ac_sock_connect(int fd, const ac_addr *a);

/* The pending error of fd (SO_ERROR) as a negative errno, or 0. */
int ac_sock_error(int fd);

/* Accepts a connection on the listening fd: a non-blocking, close-on-exec
 * descriptor, the peer's address in *peer when peer is not NULL. -EAGAIN
 * when none is waiting; EINTR and aborted connections are retried. */
int ac_sock_accept(int fd, ac_addr *peer);

/* Disables Nagle's algorithm on a TCP socket; 0 for other sockets. */
int ac_sock_nodelay(int fd);

#endif

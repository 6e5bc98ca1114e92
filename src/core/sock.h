/* Small descriptor helpers for the I/O layers. */
#ifndef ALUA_CORE_SOCK_H
#define ALUA_CORE_SOCK_H

/* Puts fd in non-blocking mode. */
int ac_set_nonblock(int fd);

/* Sets FD_CLOEXEC on fd. */
int ac_set_cloexec(int fd);

#endif

/* Monotonic clock. */
#ifndef ALUA_CORE_CLOCK_H
#define ALUA_CORE_CLOCK_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC; never goes backwards. */
uint64_t ac_clock_ns(void);

#endif

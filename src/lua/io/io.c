/* Opens the network, process and file bindings (SPEC 2.9, and TLS of
 * 2.10) in one step, so the runtime's list of openers needs a single entry
 * for all of them. */
#include "lua/io/io.h"

void alua__open_io(lua_State *L, rt *r, int module, int internals) {
  alua__open_socket(L, r, module, internals);
  alua__open_stream(L, r, module, internals);
  alua__open_server(L, r, module, internals);
  alua__open_udp(L, r, module, internals);
  alua__open_process(L, r, module, internals);
  alua__open_file(L, r, module, internals);
  alua__open_dns(L, r, module, internals);
  alua__open_tls(L, r, module, internals);
}

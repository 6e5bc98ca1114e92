-- Builds asyncio.so, the asyncio module for Lua 5.4, from this source tree:
--   luarocks --lua-version 5.4 make alua-scm-1.rockspec
-- The build is meson's (ninja and pkg-config's lua5.4 are needed), limited
-- to the module; `require "asyncio"` then works in lua5.4 and in any host.
rockspec_format = "3.0"
package = "alua"
version = "scm-1"
source = {
   url = "git+file://.",
}
description = {
   summary = "asyncio for Lua 5.4: tasks, futures, timeouts, queues, sockets, subprocesses",
   detailed = [[
The asyncio module of alua as a Lua C module: Python's asyncio model (tasks,
gather, cancellation, timeouts, queues, locks, streams, subprocesses, worker
threads) with Lua's idioms. asyncio.install_loaders() makes require, load,
loadfile and dofile accept the async/await syntax.]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "command",
   build_command = [[
rm -rf _rockbuild &&
meson setup _rockbuild --buildtype=release >_rockbuild.log &&
meson compile -C _rockbuild asyncio >>_rockbuild.log]],
   install = {
      lib = {
         asyncio = "_rockbuild/asyncio.so",
      },
   },
}

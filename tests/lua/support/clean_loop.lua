-- Every Lua test starts with
--   local _ <close> = require "clean_loop"
-- so that it ends, however its main chunk ends, by checking that its event
-- loops closed clean, as libuv's tests end: no unfinished task, no scheduled
-- handle, no open stream, server or UDP endpoint, nothing anchored in a loop
-- (internals.loop_report, docs/architecture.md). It prints nothing when all
-- is clean; otherwise it writes what was left behind to stderr and exits
-- with status 1.
require "asyncio"
local internals = debug.getregistry()["alua.internals"]

return setmetatable({}, {
  __close = function(_, err)
    if err == nil then
      -- what alua does after the main chunk: the default loop's tasks
      -- finish, then it closes. When they cannot (a deadlock), the report
      -- names what is left: end as alua would end with it.
      local ok, deadlock = pcall(internals.finish_tasks)
      if not ok then
        io.stdout:flush()
        io.stderr:write(arg and arg[-1] or "lua", ": ", tostring(deadlock), "\n")
        os.exit(1, true)
      end
    end
    local left = internals.loop_report()
    if #left == 0 then return end
    io.stdout:flush()
    if err ~= nil then io.stderr:write("the test failed: ", tostring(err), "\n") end
    io.stderr:write("the test left its event loops unclean:\n\t", table.concat(left, "\n\t"), "\n")
    os.exit(1, true)
  end,
})

-- run_child(seconds): runs this test's script again as a child process
-- (`alua script child`), awaits it for at most `seconds` and returns its
-- stdout, its stderr and its exit status; raises "the child hung" (after
-- killing it) when it takes longer. For tests whose failure is a crash or a
-- hang of the process itself.
local asyncio = require "asyncio"

return function(seconds)
  local p = asyncio.await(asyncio.create_subprocess_exec(arg[-1], arg[0], "child",
                                                         {stdout = asyncio.PIPE, stderr = asyncio.PIPE}))
  local ok, out, err = pcall(function() return asyncio.await(asyncio.wait_for(p:communicate(), seconds)) end)
  if not ok then
    p:kill()
    asyncio.await(p:wait())
    error("the child hung: " .. tostring(out), 2)
  end
  return out, err, p.returncode
end

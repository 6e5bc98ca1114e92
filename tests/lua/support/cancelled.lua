-- cancelled(t): awaits t and says whether that raised a CancelledError.
local asyncio = require "asyncio"

return function(t)
  local ok, e = pcall(asyncio.await, t)
  return not ok and asyncio.iserror(e, asyncio.CancelledError)
end

-- http, alua: N GETs of a 1 KiB body from the local server at URL, 50 in
-- flight, on one asyncio.http.Client (50 kept-alive connections).
local N = math.tointeger(tonumber(arg and arg[1])) or 2000
local URL = arg and arg[2] or "http://127.0.0.1:8080/"
local INFLIGHT = 50

local total = asyncio.run(async function()
  local client <close> = asyncio.http.Client{max_connections = INFLIGHT}
  local next_i, bytes = 0, 0
  local async function worker()
    while next_i < N do
      next_i = next_i + 1
      local resp = await client:get(URL)
      local body = await resp:text()
      if resp.status == 200 then bytes = bytes + #body end
    end
  end
  local c0 = os.clock()
  io.stderr:write("@start\n")
  local workers = {}
  for i = 1, INFLIGHT do workers[i] = asyncio.create_task(worker()) end
  await asyncio.gather(table.unpack(workers))
  io.stderr:write(string.format("@end cpu=%.6f\n", os.clock() - c0))
  return bytes
end)

print(string.format("checksum=%d:%d", N, total))

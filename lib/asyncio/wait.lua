-- Waiting on several things at once: wait, as_completed, shield (SPEC 2.5).
local M, I = ...

M.FIRST_COMPLETED = "FIRST_COMPLETED"
M.FIRST_EXCEPTION = "FIRST_EXCEPTION"
M.ALL_COMPLETED = "ALL_COMPLETED"

local modes = {FIRST_COMPLETED = true, FIRST_EXCEPTION = true, ALL_COMPLETED = true}

-- The futures for a list of awaitables (coroutine objects become tasks),
-- each once however often it is listed (asyncio takes a set).
local function futures_of(list, fname)
  if type(list) ~= "table" then
    error(I.where() .. string.format("bad argument #1 to '%s' (table expected, got %s)", fname, type(list)), 0)
  end
  -- every element checked before any task starts
  for i = 1, #list do
    if not I.isawaitable(list[i]) then
      error(I.where() .. string.format("bad argument #1 to '%s' (awaitable expected at index %d, got %s)", fname, i,
        type(list[i])), 0)
    end
  end
  local fs, seen = {}, {}
  for i = 1, #list do
    local x = list[i]
    if not seen[x] then
      local f = M.ensure_future(x)
      if not seen[f] then fs[#fs + 1] = f end
      seen[x], seen[f] = true, true
    end
  end
  return fs
end

local function check_timeout(timeout, fname)
  if timeout == nil then return nil end
  if type(timeout) ~= "number" or timeout ~= timeout then
    error(string.format("bad argument #2 to '%s' ('timeout' must be a number)", fname), 3)
  end
  return timeout
end

local function failed(f) return not f:cancelled() and f:exception() ~= nil end

-- asyncio.wait(list, {timeout =, return_when =}): waits until the condition
-- holds or the timeout passes, and returns the done and the pending ones, in
-- input order. Never raises on timeout and never cancels anything.
M.wait = M.async(function(list, opts)
  opts = I.check_options(opts, 2, "wait", I.options.wait)
  local fs = futures_of(list, "wait")
  if #fs == 0 then error("bad argument #1 to 'wait' (the list of awaitables is empty)", 2) end
  local timeout = check_timeout(opts.timeout, "wait")
  local when = opts.return_when or M.ALL_COMPLETED
  if not modes[when] then error("bad argument #2 to 'wait' (invalid 'return_when': " .. tostring(when) .. ")", 2) end

  -- counted as they finish, so that each completion costs O(1)
  local n, ndone, anyfailed = #fs, 0, false
  local function count(f)
    ndone = ndone + 1
    if failed(f) then anyfailed = true end
  end
  local function satisfied()
    return ndone == n or (when == M.FIRST_COMPLETED and ndone > 0) or (when == M.FIRST_EXCEPTION and anyfailed)
  end
  for i = 1, n do
    if fs[i]:done() then count(fs[i]) end
  end

  if not satisfied() then
    local waiter = M.Future()
    I.label_future(waiter, {kind = "wait", text = string.format("(%d futures, %s)", #fs, when), awaits = fs})
    local function wake(f)
      count(f)
      if not waiter:done() and satisfied() then waiter:set_result() end
    end
    for i = 1, n do
      if not fs[i]:done() then fs[i]:add_done_callback(wake) end
    end
    local handle
    if timeout then
      handle = M.get_running_loop():call_later(timeout, function()
        if not waiter:done() then waiter:set_result() end
      end)
    end
    local _ <close> = setmetatable({}, {__close = function()
      if handle then handle:cancel() end
      for i = 1, n do fs[i]:remove_done_callback(wake) end
    end})
    M.await(waiter)
  end
  local done, pending = {}, {}
  for i = 1, #fs do
    local f = fs[i]
    if f:done() then done[#done + 1] = f else pending[#pending + 1] = f end
  end
  return done, pending
end, "wait")

-- asyncio.as_completed(list, {timeout =}): a `for` iterator returning each
-- future or task as it finishes, in completion order; raises TimeoutError
-- when the timeout passes first.
function M.as_completed(list, opts)
  opts = I.check_options(opts, 2, "as_completed", I.options.as_completed)
  local fs = futures_of(list, "as_completed")
  local timeout = check_timeout(opts.timeout, "as_completed")
  local loop = M.get_event_loop()
  local deadline = timeout and loop:time() + timeout
  local finished, head, tail = {}, 1, 0 -- a queue: finished[head..tail]
  local remaining = #fs
  local waiter
  local function on_done(f)
    tail = tail + 1
    finished[tail] = f
    if waiter and not waiter:done() then waiter:set_result() end
  end
  for i = 1, #fs do
    if fs[i]:done() then
      tail = tail + 1
      finished[tail] = fs[i]
    else
      fs[i]:add_done_callback(on_done)
    end
  end
  local function give_up()
    for i = 1, #fs do fs[i]:remove_done_callback(on_done) end
  end
  return function()
    if remaining == 0 then return nil end
    while head > tail do
      waiter = M.Future()
      I.label_future(waiter, {kind = "as_completed", text = string.format("(%d futures)", #fs), awaits = fs})
      local handle
      if deadline then
        handle = loop:call_at(deadline, function() if not waiter:done() then waiter:set_result("timeout") end end)
      end
      local _ <close> = setmetatable({}, {__close = function()
        if handle then handle:cancel() end
        waiter = nil
      end})
      local why = M.await(waiter)
      if why == "timeout" and head > tail then
        give_up()
        remaining = 0
        error(M.TimeoutError(), 0)
      end
    end
    remaining = remaining - 1
    local f = finished[head]
    finished[head] = nil
    head = head + 1
    return f
  end
end

-- asyncio.shield(aw): a future that follows aw, where cancelling the future
-- (or the task awaiting it) leaves aw running.
function M.shield(aw)
  if not I.isawaitable(aw) then
    error(I.where() .. "bad argument #1 to 'shield' (awaitable expected, got " .. type(aw) .. ")", 0)
  end
  local inner = M.ensure_future(aw)
  if inner:done() then return inner end
  local outer = inner:get_loop():create_future()
  local function copy(f)
    if outer:cancelled() then
      if not f:cancelled() then f:exception() end -- looked at: not "never retrieved"
      return
    end
    if f:cancelled() then
      outer:cancel()
    else
      local err = f:exception()
      if err ~= nil then outer:set_exception(err) else outer:set_result(f:result()) end
    end
  end
  inner:add_done_callback(copy)
  outer:add_done_callback(function()
    if not inner:done() then inner:remove_done_callback(copy) end
  end)
  return outer
end

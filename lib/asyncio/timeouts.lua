-- Timeout scopes and wait_for (SPEC 2.5).
--
--   local _ <close> = asyncio.timeout(2)
--
-- At the deadline the task is cancelled; when the CancelledError that this
-- caused leaves the scope, the scope's __close replaces it with a
-- TimeoutError. A cancellation that comes from elsewhere stays a
-- CancelledError: the task's cancelling() count tells them apart, as in
-- Python's asyncio.timeout.
local M, I = ...

local Timeout = {__name = "asyncio.Timeout"}
Timeout.__index = Timeout

local function check_when(when, fname, argn)
  if when == nil then return nil end
  if type(when) ~= "number" then
    error(string.format("bad argument #%d to '%s' (number expected, got %s)", argn, fname, type(when)), 3)
  end
  if when ~= when then error(string.format("bad argument #%d to '%s' (delay is NaN)", argn, fname), 3) end
  return when
end

local function on_timeout(self)
  self._handle = nil
  self._state = "expiring"
  self._task:cancel()
end

-- timeout:reschedule(when): moves the deadline (nil: none) of an active scope.
function Timeout:reschedule(when)
  if self._state ~= "entered" then
    error("cannot reschedule a timeout that is " .. self._state, 2)
  end
  check_when(when, "reschedule", 1)
  self._when = when
  if self._handle then
    self._handle:cancel()
    self._handle = nil
  end
  if when == nil then return end
  local loop = self._loop
  if when <= loop:time() then
    self._handle = loop:call_soon(on_timeout, self)
  else
    self._handle = loop:call_at(when, on_timeout, self)
  end
end

function Timeout:when() return self._when end

-- timeout:expired(): the deadline passed and the task was cancelled for it.
function Timeout:expired() return self._state == "expiring" or self._state == "expired" end

function Timeout:__tostring()
  local when = self._when and string.format(" when=%.3f", self._when) or ""
  return "<Timeout [" .. self._state .. "]" .. when .. ">"
end

function Timeout:__close(err)
  if self._handle then
    self._handle:cancel()
    self._handle = nil
  end
  if self._state == "expiring" then
    self._state = "expired"
    -- ours only if no other cancellation is pending on the task
    if self._task:uncancel() <= self._cancelling and M.iserror(err, M.CancelledError) then
      error(M.TimeoutError(), 0) -- replaces the CancelledError
    end
  elseif self._state == "entered" then
    self._state = "exited"
  end
end

-- asyncio.timeout_at(when): a scope cancelled at the loop time `when` (nil:
-- never, until rescheduled).
function M.timeout_at(when)
  check_when(when, "timeout_at", 1)
  local task = M.current_task()
  if not task then error("asyncio.timeout() can only be used inside a task", 2) end
  local self = setmetatable({
    _loop = M.get_running_loop(),
    _task = task,
    _state = "entered",
    _cancelling = task:cancelling(),
  }, Timeout)
  self:reschedule(when)
  return self
end

-- asyncio.timeout(delay): a scope cancelled after `delay` seconds.
function M.timeout(delay)
  check_when(delay, "timeout", 1)
  if delay == nil then return M.timeout_at(nil) end
  if not M.current_task() then error("asyncio.timeout() can only be used inside a task", 2) end
  return M.timeout_at(M.get_running_loop():time() + delay)
end

-- Cancels fut and waits until it is done, without taking our own
-- cancellation as its answer.
local function cancel_and_wait(fut)
  local waiter = M.Future()
  local function done() if not waiter:done() then waiter:set_result() end end
  fut:add_done_callback(done)
  local _ <close> = setmetatable({}, {__close = function() fut:remove_done_callback(done) end})
  fut:cancel()
  M.await(waiter)
end

-- asyncio.wait_for(aw, timeout): aw's results, or TimeoutError after
-- cancelling aw when it takes longer than timeout seconds (nil: no limit).
M.wait_for = M.async(function(aw, timeout)
  check_when(timeout, "wait_for", 2)
  if timeout ~= nil and timeout <= 0 then
    local fut = M.ensure_future(aw)
    if fut:done() then return fut:result() end
    cancel_and_wait(fut)
    if fut:cancelled() then error(M.TimeoutError(), 0) end
    return fut:result()
  end
  local _ <close> = M.timeout(timeout)
  return M.await(aw)
end, "wait_for")

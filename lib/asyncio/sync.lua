-- Condition and Barrier: compositions of Lock and Future that read best in
-- Lua (SPEC 2.7). Receives the module table and the C internals.
local M, I = ...

local async, await, iserror = M.async, M.await, M.iserror
local setmetatable, getmetatable, type, error, pcall = setmetatable, getmetatable, type, error, pcall
local format, mtype = string.format, math.type
local LockMT = I.Lock

-- Raises "calling 'name' on bad self (Cls expected, got T)" at the caller's
-- caller, like luaL_argerror does for a method's self.
local function checkself(self, mt, cls, name)
  if getmetatable(self) ~= mt then
    error(format("calling '%s' on bad self (%s expected, got %s)", name, cls, type(self)), 3)
  end
end

-- ----------------------------------------------------------------------
-- Condition: a lock plus a list of waiting futures. wait() releases the
-- lock, waits for notify, and acquires the lock again before it returns or
-- raises, even when cancelled.

local Condition = {__name = "asyncio.Condition"}
Condition.__index = Condition

function M.Condition(lock)
  if lock == nil then
    lock = M.Lock()
  elseif getmetatable(lock) ~= LockMT then
    error(format("bad argument #1 to 'Condition' (Lock expected, got %s)", type(lock)), 2)
  end
  return setmetatable({_lock = lock, _waiters = {}}, Condition)
end

function Condition:acquire()
  checkself(self, Condition, "Condition", "acquire")
  return self._lock:acquire()
end

function Condition:release()
  checkself(self, Condition, "Condition", "release")
  if not self._lock:locked() then error("release() of a Lock that is not acquired", 2) end
  self._lock:release()
end

function Condition:locked()
  checkself(self, Condition, "Condition", "locked")
  return self._lock:locked()
end

-- Wakes up to n waiting futures, oldest first.
local function wake(self, n)
  local woken = 0
  local waiters = self._waiters
  for i = 1, #waiters do
    if woken >= n then break end
    local fut = waiters[i]
    if not fut:done() then
      woken = woken + 1
      fut:set_result(false)
    end
  end
end

local function remove(list, v)
  for i = 1, #list do
    if list[i] == v then
      table.remove(list, i)
      return
    end
  end
end

local wait_body = async(function(self)
  local lock = self._lock
  local fut = M.Future()
  -- reports: waiting for the Condition (or the Barrier built on it)
  local barrier = self._barrier
  I.label_future(fut, barrier and {kind = "Barrier", object = barrier, never = ", which no more tasks will reach"}
    or {kind = "Condition", object = self, never = ", which no task will ever notify"})
  local waiters = self._waiters
  waiters[#waiters + 1] = fut
  lock:release()
  local ok, err = pcall(await, fut)
  remove(waiters, fut)
  -- take the lock back whatever happened; a cancellation meanwhile is
  -- raised afterwards (the latest one wins)
  while true do
    local got, e = pcall(await, lock:acquire())
    if got then break end
    if not iserror(e, M.CancelledError) then
      wake(self, 1)
      error(e, 0)
    end
    ok, err = false, e
  end
  if not ok then
    -- this task may have been notified just before it was cancelled: the
    -- notification goes to another waiter instead (a spurious wake-up is
    -- allowed, a lost one is not)
    wake(self, 1)
    error(err, 0)
  end
  return true
end, "Condition.wait")

-- await c:wait(): releases the lock, waits to be notified, acquires it again.
function Condition:wait()
  checkself(self, Condition, "Condition", "wait")
  if not self._lock:locked() then error("wait() on a Condition whose lock is not acquired", 2) end
  return wait_body(self)
end

local wait_for_body = async(function(self, pred)
  local result = pred()
  while not result do
    if not self._lock:locked() then error(I.where() .. "wait_for() on a Condition whose lock is not acquired", 0) end
    await(wait_body(self))
    result = pred()
  end
  return result
end, "Condition.wait_for")

-- await c:wait_for(pred): waits until pred() returns a true value, which it
-- returns. As in asyncio, the lock must be held only when it has to wait.
function Condition:wait_for(pred)
  checkself(self, Condition, "Condition", "wait_for")
  if type(pred) ~= "function" then
    error(format("bad argument #1 to 'wait_for' (function expected, got %s)", type(pred)), 2)
  end
  return wait_for_body(self, pred)
end

-- c:notify([n]): wakes up to n waiting tasks (default 1).
function Condition:notify(n)
  checkself(self, Condition, "Condition", "notify")
  if n == nil then
    n = 1
  elseif mtype(n) ~= "integer" then
    error(format("bad argument #1 to 'notify' (integer expected, got %s)", mtype(n) or type(n)), 2)
  elseif n < 0 then
    error("bad argument #1 to 'notify' (n must be >= 0)", 2)
  end
  if not self._lock:locked() then error("notify() on a Condition whose lock is not acquired", 2) end
  wake(self, n)
end

function Condition:notify_all()
  checkself(self, Condition, "Condition", "notify_all")
  if not self._lock:locked() then error("notify_all() on a Condition whose lock is not acquired", 2) end
  wake(self, #self._waiters)
end

function Condition.__tostring(self)
  local n = 0
  for i = 1, #self._waiters do
    if not self._waiters[i]:done() then n = n + 1 end
  end
  return format("<Condition %s%s>", self._lock:locked() and "locked" or "unlocked",
    n > 0 and " waiters=" .. n or "")
end

-- ----------------------------------------------------------------------
-- Barrier: `parties` tasks wait until all of them have arrived, then all
-- go on. States: filling (tasks arriving), draining (released tasks
-- leaving), resetting (reset() while tasks wait), broken (abort()).

local FILLING, DRAINING, RESETTING, BROKEN = "filling", "draining", "resetting", "broken"

local Barrier = {__name = "asyncio.Barrier"}
local barrier_methods = {}

-- Fields computed on access: parties, n_waiting, broken.
function Barrier.__index(self, k)
  local m = barrier_methods[k]
  if m ~= nil then return m end
  if k == "parties" then return self._parties end
  if k == "n_waiting" then return self._state == FILLING and self._count or 0 end
  if k == "broken" then return self._state == BROKEN end
  return nil
end

function M.Barrier(parties)
  if mtype(parties) ~= "integer" then
    error(format("bad argument #1 to 'Barrier' (integer expected, got %s)",
      mtype(parties) or type(parties)), 2)
  end
  if parties < 1 then error("bad argument #1 to 'Barrier' (parties must be >= 1)", 2) end
  local self = setmetatable({_cond = M.Condition(), _parties = parties, _state = FILLING, _count = 0}, Barrier)
  self._cond._barrier = self
  return self
end

-- All of these run with the condition's lock held; none of them waits
-- without releasing it (Condition:wait_for releases it while waiting).
local function notify_all(self) wake(self._cond, #self._cond._waiters) end

local function not_draining(self)
  return function() return self._state ~= DRAINING and self._state ~= RESETTING end
end

local function not_filling(self)
  return function() return self._state ~= FILLING end
end

local wait_barrier = async(function(self)
  local cond = self._cond
  local _ <close> = await(cond:acquire())
  -- tasks of the previous cycle still leaving: wait for them
  await(cond:wait_for(not_draining(self)))
  if self._state == BROKEN then error(M.BrokenBarrierError("Barrier aborted"), 0) end
  local index = self._count
  self._count = index + 1
  local ok, err = pcall(function()
    if index + 1 == self._parties then
      self._state = DRAINING
      notify_all(self)
    else
      await(cond:wait_for(not_filling(self)))
      if self._state == BROKEN or self._state == RESETTING then
        error(M.BrokenBarrierError("Barrier aborted or reset"), 0)
      end
    end
  end)
  -- leaving: the last one out lets the next cycle fill
  self._count = self._count - 1
  if self._count == 0 then
    if self._state == RESETTING or self._state == DRAINING then self._state = FILLING end
    notify_all(self)
  end
  if not ok then error(err, 0) end
  return index
end, "Barrier.wait")

-- await b:wait(): waits until `parties` tasks are waiting; returns this
-- task's arrival index, 0 to parties - 1 (as asyncio does).
function barrier_methods.wait(self)
  checkself(self, Barrier, "Barrier", "wait")
  return wait_barrier(self)
end

-- b:reset(): back to the empty state; tasks waiting now get
-- BrokenBarrierError.
function barrier_methods.reset(self)
  checkself(self, Barrier, "Barrier", "reset")
  if self._count > 0 then
    self._state = RESETTING
  else
    self._state = FILLING
  end
  notify_all(self)
end

-- b:abort(): breaks the barrier: waiting tasks and every later wait() get
-- BrokenBarrierError, until reset().
function barrier_methods.abort(self)
  checkself(self, Barrier, "Barrier", "abort")
  self._state = BROKEN
  notify_all(self)
end

function Barrier.__tostring(self)
  return format("<Barrier parties=%d n_waiting=%d state=%s>", self._parties,
    self._state == FILLING and self._count or 0, self._state)
end

-- Task groups (SPEC 2.5): structured concurrency as a <close> scope.
--
--   local tg <close> = asyncio.TaskGroup()
--   tg:create_task(work(1))
--   tg:create_task(work(2))
--   -- leaving the scope waits for every child
--
-- The first child failure cancels the other children and the body; the
-- scope then raises an ExceptionGroup with every failure (the body's own
-- error included). A KeyboardInterrupt passes through bare. The logic
-- follows Python's asyncio.TaskGroup; the one difference is that a Lua
-- __close handler can replace an error but not swallow it.
local M, I = ...

local TaskGroup = {__name = "asyncio.TaskGroup"}
TaskGroup.__index = TaskGroup

local function is_base_error(e) return M.iserror(e, M.KeyboardInterrupt) end

-- Cancels every unfinished child.
local function abort(self)
  self._aborting = true
  for t in pairs(self._tasks) do
    if not t:done() then t:cancel() end
  end
end

local function on_task_done(self, t)
  self._tasks[t] = nil
  self._ntasks = self._ntasks - 1
  if self._ntasks == 0 and self._on_completed and not self._on_completed:done() then
    self._on_completed:set_result()
  end
  if t:cancelled() then return end
  local err = t:exception()
  if err == nil then return end
  self._errors[#self._errors + 1] = err
  if is_base_error(err) and self._base_error == nil then self._base_error = err end
  local parent = self._parent
  if parent and parent:done() then
    self._loop:call_exception_handler({
      message = "task group: child failed after the body finished",
      exception = err,
      task = t,
    })
    return
  end
  if not self._aborting and not self._parent_cancel_requested then
    abort(self)
    if parent and not self._exiting then
      -- the body is still running: stop it too
      self._parent_cancel_requested = true
      parent:cancel()
    end
  end
end

-- Refuses create_task on a group that takes no more children: closes the
-- coroutine object it was given, as asyncio does, so that it does not
-- warn as never awaited.
local function refuse(first, why)
  if M.iscoroutine(first) then first:close() end
  error(why, 3)
end

-- tg:create_task(coro_or_fn, ... [, {name =}]): a child task of the group.
function TaskGroup:create_task(...)
  if self._exiting and self._ntasks == 0 then refuse(..., "this TaskGroup is finished") end
  if self._aborting then refuse(..., "this TaskGroup is shutting down") end
  local t = M.create_task(...)
  self._tasks[t] = true
  self._ntasks = self._ntasks + 1
  t:add_done_callback(self._on_done)
  return t
end

-- tg:cancel(): cancels every child; leaving the scope then raises nothing
-- for them.
function TaskGroup:cancel()
  self._cancelled = true
  abort(self)
end

function TaskGroup:__tostring()
  local state = self._aborting and "cancelling" or self._exiting and "exiting" or "running"
  return string.format("<TaskGroup tasks=%d errors=%d %s>", self._ntasks, #self._errors, state)
end

function TaskGroup:__close(err)
  self._exiting = true
  if err ~= nil and is_base_error(err) and self._base_error == nil then self._base_error = err end
  local propagate_cancel = M.iserror(err, M.CancelledError) and err or nil
  if err ~= nil and not self._aborting then abort(self) end
  -- the last cancellation of the task that came while waiting
  local pending_cancel
  while self._ntasks > 0 do
    self._on_completed = self._loop:create_future()
    I.label_future(self._on_completed, {kind = "TaskGroup", object = self, awaits = self._tasks})
    local ok, e = pcall(M.await, self._on_completed)
    if not ok then
      if not M.iserror(e, M.CancelledError) then error(e, 0) end
      -- cancelled while waiting for the children: stop them, keep waiting
      pending_cancel = e
      if not self._aborting then
        propagate_cancel = e
        abort(self)
      end
    end
    self._on_completed = nil
  end
  -- (before a KeyboardInterrupt leaves: a program may catch it and go on)
  local parent = self._parent
  if self._parent_cancel_requested then
    -- the CancelledError in the body was our doing; another request stands
    if parent:uncancel() == 0 then
      propagate_cancel = nil
    elseif propagate_cancel == nil then
      propagate_cancel = pending_cancel
    end
  elseif propagate_cancel == nil and pending_cancel ~= nil and parent and parent:cancelling() > 0 then
    -- tg:cancel() (which leaves the body alone) was stopping the children
    -- when the task was cancelled: that goes on
    propagate_cancel = pending_cancel
  end
  if self._base_error ~= nil then
    -- the other errors cannot go with it: they are reported, not lost
    for _, e in ipairs(self._errors) do
      if not rawequal(e, self._base_error) then
        self._loop:call_exception_handler({
          message = "TaskGroup task exception was not propagated because the TaskGroup body is being closed with a BaseException",
          exception = e,
          task_group = self,
        })
      end
    end
    self._errors = {}
    error(self._base_error, 0)
  end
  -- errors take priority over a cancellation
  if propagate_cancel ~= nil and #self._errors == 0 then error(propagate_cancel, 0) end
  local errors = self._errors
  if err ~= nil and not M.iserror(err, M.CancelledError) then errors[#errors + 1] = err end
  if #errors > 0 then
    self._errors = {}
    -- a cancellation of the task that the error replaces is requested
    -- again, so that the task's next await sees it
    if parent and parent:cancelling() > 0 then
      parent:uncancel()
      parent:cancel()
    end
    error(M.ExceptionGroup("unhandled errors in a TaskGroup", {exceptions = errors}), 0)
  end
end

-- asyncio.TaskGroup(): a new group, entered at once; use it with <close>.
function M.TaskGroup()
  local self = setmetatable({
    _loop = M.get_event_loop(),
    _parent = M.current_task(),
    _tasks = {},
    _ntasks = 0,
    _errors = {},
    _aborting = false,
    _exiting = false,
    _parent_cancel_requested = false,
  }, TaskGroup)
  self._on_done = function(t) on_task_done(self, t) end
  return self
end

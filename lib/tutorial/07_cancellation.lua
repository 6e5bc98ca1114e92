-- Lesson 7: cancellation -- where the CancelledError is raised, cleanup on
-- the way out, and re-raising it.
return {
  title = {en = "Cancellation", zh = "取消"},

  text = {
    en = [[
`t:cancel(msg)` asks a task to stop. The request is delivered at the `await`
where the task is suspended: a `CancelledError` is raised right there, in
whatever coroutine the task is running at the time, however deeply awaited.
It travels up like any error, so the `pcall` handlers and `<close>`
variables on its way run: that is where you clean up.

After cleaning up, let the error go on: re-raise it with `error(err, 0)`. A
task that catches the `CancelledError` and carries on is not cancelled at
all: `t:cancelled()` stays false, and whoever cancelled it believes it
stopped while it keeps working. So catch errors narrowly, or re-raise what
you do not handle: `asyncio.iserror(err, asyncio.CancelledError)` tells a
cancellation apart from other errors.

Whoever awaits a cancelled task gets the `CancelledError` too. `t:cancel()`
returns false when the task is already done, and a task cancelled before it
started never runs at all.
]],
    zh = [[
`t:cancel(msg)` 请求一个任务停下。这个请求在任务挂起的那个 `await` 处送达：
`CancelledError` 就在那里抛出，抛在任务当时正在运行的协程里，不管它被 await 得有多深。
它像普通错误一样向上传播，途经的 `pcall` 处理代码和 `<close>` 变量都会执行：
清理工作就放在那里。

清理完之后，要让这个错误继续传播：用 `error(err, 0)` 重新抛出。
捕获了 `CancelledError` 却接着干活的任务，根本就没有被取消：
`t:cancelled()` 仍是 false，取消它的一方以为它停了，它却还在运行。
所以捕获错误要有针对性，不处理的错误要重新抛出：
`asyncio.iserror(err, asyncio.CancelledError)` 能把取消和其他错误区分开。

await 一个被取消的任务，也会得到 `CancelledError`。任务已经结束时，
`t:cancel()` 返回 false；还没开始就被取消的任务，根本不会运行。
]],
  },

  example = [[
async function read_chunk(i)
  local ok, err = pcall(function()
    await asyncio.sleep(1)        --[en] the CancelledError is raised here --[zh] CancelledError 在这里抛出
  end)
  if not ok then
    print("  read_chunk(" .. i .. ") interrupted")
    error(err, 0)                 --[en] pass it on --[zh] 继续传播
  end
end

async function download()
  local chunks = 0
  local ok, err = pcall(function()
    for i = 1, 10 do
      await read_chunk(i)
      chunks = chunks + 1
      print("chunk " .. i)
    end
  end)
  print("cleaning up after " .. chunks .. " chunks")
  if not ok then error(err, 0) end   --[en] re-raise: the task ends cancelled --[zh] 重新抛出：任务以取消告终
end

async function main()
  local t = asyncio.create_task(download())
  await asyncio.sleep(2.5)
  t:cancel("the user pressed stop")
  local ok, err = pcall(function() return await t end)
  print(ok, err)
  print("cancelled?", t:cancelled())
end

asyncio.run(main)
]],

  output = [[
1.0 chunk 1
2.0 chunk 2
2.5   read_chunk(3) interrupted
2.5 cleaning up after 2 chunks
2.5 false	CancelledError: the user pressed stop
2.5 cancelled?	true
]],

  exercise = {
    text = {
      en = [[
`main` cancels the worker at t=2.5, but the worker's `pcall` catches the
`CancelledError` like any error, reports job 3 as failed and goes on with
jobs 4 and 5. Make it stop: it may still report the interrupted job, but
then the task must end cancelled, at t=2.5. A job that fails with an ordinary
error must still be reported and skipped, as now.
]],
      zh = [[
`main` 在 t=2.5 取消了 worker，可 worker 的 `pcall` 把 `CancelledError`
当成普通错误捕获了，报告第 3 项工作失败，然后接着做第 4、5 项。
让它停下来：被打断的那个工作仍然可以报告，但之后任务必须以取消告终，时间是 t=2.5。
普通错误导致的失败还是要像现在这样报告并跳过。
]],
    },

    starter = [[
async function do_job(i)
  await asyncio.sleep(1)
end

async function worker(jobs)
  for i = 1, jobs do
    local ok, err = pcall(function() await do_job(i) end)
    if ok then
      print("job " .. i .. " done")
    else
      print("job " .. i .. " failed: " .. tostring(err))
      --[en] TODO: a cancellation must not be skipped like this
      --[zh] TODO：取消不能像这样被跳过
    end
  end
  print("worker finished")
end

async function main()
  local w = asyncio.create_task(worker(5))
  await asyncio.sleep(2.5)
  w:cancel()
  pcall(function() await w end)
  print("cancelled?", w:cancelled())
end

asyncio.run(main)
]],

    solution = [[
async function do_job(i)
  await asyncio.sleep(1)
end

async function worker(jobs)
  for i = 1, jobs do
    local ok, err = pcall(function() await do_job(i) end)
    if ok then
      print("job " .. i .. " done")
    else
      print("job " .. i .. " failed: " .. tostring(err))
      if asyncio.iserror(err, asyncio.CancelledError) then error(err, 0) end
    end
  end
  print("worker finished")
end

async function main()
  local w = asyncio.create_task(worker(5))
  await asyncio.sleep(2.5)
  w:cancel()
  pcall(function() await w end)
  print("cancelled?", w:cancelled())
end

asyncio.run(main)
]],

    hints = {
      {
        en = "The `pcall` in the worker catches every error, the `CancelledError` included. Tell it apart with `asyncio.iserror(err, asyncio.CancelledError)`.",
        zh = "worker 里的 `pcall` 会捕获所有错误，`CancelledError` 也不例外。用 `asyncio.iserror(err, asyncio.CancelledError)` 把它区分出来。",
      },
      {
        en = "After printing the failure: `if asyncio.iserror(err, asyncio.CancelledError) then error(err, 0) end`. Stopping the loop with `break` or `return` is not enough: the task would end normally, not cancelled.",
        zh = "打印失败信息之后加上：`if asyncio.iserror(err, asyncio.CancelledError) then error(err, 0) end`。用 `break` 或 `return` 跳出循环是不够的：那样任务会正常结束，而不是以取消告终。",
      },
    },

    checks = {
      {en = "the worker stops at t=2.5 when cancelled", zh = "worker 被取消后在 t=2.5 停下", function(r, t)
        local _, line = t.find(r, "job 4")
        if line then
          return t.msg("the worker went on after w:cancel(): \"%s\" at t=%s. Its pcall caught the CancelledError and the loop carried on.",
                       "w:cancel() 之后 worker 还在继续：打印了 \"%s\"（t=%s）。它的 pcall 捕获了 CancelledError，循环照常往下走。",
                       line.text, t.time(line.t))
        end
      end},
      {en = "the task ends cancelled: the CancelledError is re-raised", zh = "任务以取消告终：CancelledError 被重新抛出", function(r, t)
        local _, line = t.find(r, "cancelled?")
        if not line then return t.msg("\"cancelled? ...\" is never printed", "没有打印 \"cancelled? ...\"") end
        if line.text ~= "cancelled?\ttrue" then
          return t.msg("w:cancelled() is false: the worker caught the CancelledError and returned normally. Re-raise it after reporting: error(err, 0)",
                       "w:cancelled() 是 false：worker 捕获了 CancelledError 后正常返回了。报告之后要重新抛出：error(err, 0)")
        end
      end},
      {en = "an ordinary failure is reported and skipped", zh = "普通错误导致的失败会被报告并跳过", function(r, t)
        local s = t.run(asyncio.async(function(env)
          env.do_job = asyncio.async(function(i)
            asyncio.await(asyncio.sleep(1))
            if i == 2 then error("disk full", 0) end
          end)
          asyncio.await(env.worker(3))
        end))
        if s.error then
          return t.msg("when job 2 fails with an ordinary error (\"disk full\"), the worker should report it and go on with job 3; it raised %s",
                       "第 2 个工作因普通错误（\"disk full\"）失败时，worker 应该报告它并继续做第 3 个；它却抛出了 %s",
                       s.error)
        end
        if not t.find(s, "job 2 failed: disk full") or not t.find(s, "job 3 done") then
          return t.msg("when job 2 fails with an ordinary error (\"disk full\"), the worker should report it and go on with job 3",
                       "第 2 个工作因普通错误（\"disk full\"）失败时，worker 应该报告它并继续做第 3 个")
        end
      end},
    },
  },
}

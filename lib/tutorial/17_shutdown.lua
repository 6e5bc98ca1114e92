-- Lesson 17: Ctrl+C and shutdown -- what Ctrl+C does under asyncio.run,
-- SIGTERM handlers, and a clean shutdown that drops nothing in progress.
return {
  title = {en = "Ctrl+C and shutting down", zh = "Ctrl+C 与关闭"},

  text = {
    en = [[
When the user presses Ctrl+C, `asyncio.run` cancels the main task. The
`CancelledError` unwinds main like any cancellation (lesson 7): its `pcall`
handlers and `<close>` variables run. Then `asyncio.run` cancels the tasks
that are left and waits for them, so that their cleanup runs too, and raises
`KeyboardInterrupt`: alua exits with status 130. A second Ctrl+C stops at
once, cleanup or not.

A service should also stop cleanly when asked politely: `kill` sends SIGTERM.
`loop:add_signal_handler(asyncio.SIGTERM, fn)` calls `fn` on the loop when it
arrives. A common pattern is an Event that main waits for.

A clean shutdown goes in order: stop taking new work; let the work in
progress finish (or cancel it and let its cleanup run); stop the background
tasks and wait until they have ended; then leave. Nothing is left pending
and nothing is cut off halfway.

A lesson cannot press Ctrl+C for you, so here a timer plays the signal. Save
the example to a file and run `alua file.lua` to try the real keys.
]],
    zh = [[
用户按下 Ctrl+C 时，`asyncio.run` 会取消主任务。`CancelledError`
像任何取消一样（第 7 课）沿着 main 向外展开：它的 `pcall` 处理代码和 `<close>`
变量都会执行。接着 `asyncio.run` 取消剩下的任务并等它们结束，好让它们的清理代码也执行，
然后抛出 `KeyboardInterrupt`：alua 以状态码 130 退出。再按一次 Ctrl+C
则立即停止，不管清理做没做完。

服务在被客气地要求停止时，也应该干净地退出：`kill` 发送的是 SIGTERM。
`loop:add_signal_handler(asyncio.SIGTERM, fn)` 在信号到来时由事件循环调用 `fn`。
常见的做法是让 main 等一个 Event。

干净的关闭有先后顺序：停止接收新工作；让进行中的工作做完（或者取消它，
让它的清理代码执行）；停掉后台任务并等它们真正结束；然后退出。
不留下未完成的任务，也不把任何事情做到一半就丢下。

课程没法替你按 Ctrl+C，所以这里用一个定时器扮演信号。
把示例存成文件，用 `alua file.lua` 运行，就能试试真的按键。
]],
  },

  example = [[
async function worker(name)
  local ok, err = pcall(function()
    while true do
      await asyncio.sleep(1)
      print(name .. " works")
    end
  end)
  print(name .. " cleans up")          --[en] on Ctrl+C too --[zh] 按 Ctrl+C 时也会执行
  error(err, 0)
end

async function main()
  local loop = asyncio.get_running_loop()
  local stop = asyncio.Event()
  loop:add_signal_handler(asyncio.SIGTERM, function() stop:set() end)
  loop:call_later(2.5, function() stop:set() end)  --[en] SIGTERM, pretend --[zh] 假装收到了 SIGTERM
  local workers = {asyncio.create_task(worker("a")),
                   asyncio.create_task(worker("b"))}
  await stop:wait()
  print("stopping")
  for _, w in ipairs(workers) do w:cancel() end
  await asyncio.wait(workers)
  print("bye")
end

asyncio.run(main)
]],

  output = [[
1.0 a works
1.0 b works
2.0 a works
2.0 b works
2.5 stopping
2.5 a cleans up
2.5 b cleans up
2.5 bye
]],

  exercise = {
    text = {
      en = [[
A worker takes jobs of one second from a queue. At t=2.5 a stop request
arrives, in the middle of job3. `main` then just prints "bye" and returns, so
`asyncio.run` cancels the worker and job3 is cut off halfway. Shut down
cleanly: let job3 finish (at t=3.0), drop job4 and job5, stop the worker,
and print "bye" last, with no task left pending.
]],
      zh = [[
一个 worker 从队列里取工作来做，每项一秒。t=2.5 时来了停止请求，此时 job3 正做到一半。
`main` 只是打印 "bye" 就返回了，于是 `asyncio.run` 取消了 worker，job3 被拦腰截断。
改成干净地关闭：让 job3 做完（在 t=3.0），丢弃 job4 和 job5，停掉 worker，
最后才打印 "bye"，不留下任何未完成的任务。
]],
    },

    starter = [[
async function worker(q)
  while true do
    local job = await q:get()
    print("start " .. job)
    await asyncio.sleep(1)
    print("done " .. job)
    q:task_done()
  end
end

async function main()
  local loop = asyncio.get_running_loop()
  local q = asyncio.Queue()
  for i = 1, 5 do q:put_nowait("job" .. i) end
  local stop = asyncio.Event()
  loop:call_later(2.5, function() stop:set() end)   --[en] a Ctrl+C, say --[zh] 比如按了 Ctrl+C
  local w = asyncio.create_task(worker(q))
  await stop:wait()
  --[en] TODO: finish the job in progress, drop the rest, stop the worker
  --[zh] TODO：做完进行中的工作，丢弃其余的，停掉 worker
  print("bye")
end

asyncio.run(main)
]],

    solution = [[
async function worker(q)
  while true do
    local job = await q:get()
    print("start " .. job)
    await asyncio.sleep(1)
    print("done " .. job)
    q:task_done()
  end
end

async function main()
  local loop = asyncio.get_running_loop()
  local q = asyncio.Queue()
  for i = 1, 5 do q:put_nowait("job" .. i) end
  local stop = asyncio.Event()
  loop:call_later(2.5, function() stop:set() end)
  local w = asyncio.create_task(worker(q))
  await stop:wait()
  q:shutdown(true)       --[en] drop the queued jobs --[zh] 丢弃排队的工作
  pcall(function() await w end)   --[en] ends with QueueShutDown after job3 --[zh] 做完 job3 后以 QueueShutDown 结束
  print("bye")
end

asyncio.run(main)
]],

    hints = {
      {
        en = "Cancelling the worker would cut job3 off too. Instead, make its next `q:get()` fail: `q:shutdown(true)` drops the queued jobs, and a `get` on the shut queue raises `QueueShutDown`.",
        zh = "取消 worker 也会把 job3 拦腰截断。换个办法，让它下一次 `q:get()` 失败：`q:shutdown(true)` 丢弃排队的工作，之后在关闭的队列上 `get` 会抛出 `QueueShutDown`。",
      },
      {
        en = "After `q:shutdown(true)`, wait for the worker to end: `pcall(function() await w end)` (it ends with the QueueShutDown error, which the pcall retrieves). Then print \"bye\".",
        zh = "`q:shutdown(true)` 之后等 worker 结束：`pcall(function() await w end)`（它以 QueueShutDown 错误结束，由 pcall 取走这个错误）。然后再打印 \"bye\"。",
      },
    },

    checks = {
      {en = "job3, in progress at t=2.5, is finished at t=3.0", zh = "t=2.5 时进行中的 job3 在 t=3.0 做完", function(r, t)
        local _, line = t.find(r, "done job3")
        if not line then
          return t.msg("job3 never finishes: it was cut off halfway when the worker was cancelled",
                       "job3 始终没做完：worker 被取消时它被拦腰截断了")
        end
        if not t.near(line.t, 3) then
          return t.msg("job3 is done at t=%s, not 3.0", "job3 在 t=%s 做完，不是 3.0", t.time(line.t))
        end
      end},
      {en = "job4 and job5 are dropped", zh = "job4 和 job5 被丢弃", function(r, t)
        local _, line = t.find(r, "start job4")
        if line then
          return t.msg("job4 is started at t=%s: after the stop request, the queued jobs should be dropped",
                       "job4 在 t=%s 开始了：收到停止请求后，排队的工作应该被丢弃", t.time(line.t))
        end
      end},
      {en = "\"bye\" comes last, with no task left pending", zh = "最后才打印 \"bye\"，且没有未完成的任务", function(r, t)
        local i = t.find(r, "bye")
        if not i or i ~= #r.lines then
          return t.msg("\"bye\" is not the last line: the worker was still running when main said bye",
                       "\"bye\" 不是最后一行：main 说再见时 worker 还在运行")
        end
        if #r.pending > 0 then
          return t.msg("still pending when main returned: %s", "main 返回时这些任务还没结束：%s",
                       table.concat(r.pending, ", "))
        end
      end},
    },
  },
}

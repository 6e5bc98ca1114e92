-- Lesson 15: task groups -- structured concurrency: no task outlives its
-- block, the first failure cancels the others, errors in an ExceptionGroup.
return {
  title = {en = "Task groups", zh = "任务组"},

  text = {
    en = [[
A `TaskGroup` ties tasks to a block of code, so that none of them can
outlive the block or be forgotten:

  local tg <close> = asyncio.TaskGroup()
  tg:create_task(fetch("a"))
  tg:create_task(fetch("b"))

Leaving the block, normally or by an error, waits for every task of the
group. If one of them fails, the group cancels the others (and the rest of
the block), waits for them to finish, then raises an `ExceptionGroup` whose
`exceptions` list holds every failure. Cancelling the task that runs the
group cancels its children too, and `tg:cancel()` stops them without error.

This is structured concurrency: the tasks started in a block end within it,
so no error is lost and nothing keeps running behind your back after you
have moved on. Compare `gather` (lesson 5): it raises the first error at
once, while the other tasks carry on.

Prefer a task group whenever you start several tasks and need them all.
]],
    zh = [[
`TaskGroup` 把任务绑定到一个代码块上，任务既不能比这个代码块活得更久，也不会被遗忘：

  local tg <close> = asyncio.TaskGroup()
  tg:create_task(fetch("a"))
  tg:create_task(fetch("b"))

离开代码块时（无论是正常结束还是出错），会等组里的每个任务结束。
如果其中一个出错，任务组就取消其他任务（以及代码块的剩余部分），等它们结束，
然后抛出一个 `ExceptionGroup`，它的 `exceptions` 列表里装着每一个错误。
取消运行任务组的那个任务，也会取消它的子任务；`tg:cancel()` 则让它们无错误地停下。

这就是结构化并发：在一个代码块里启动的任务，都在这个代码块里结束，
所以错误不会丢失，你往下走之后也不会有任务在背后继续运行。对比一下 `gather`（第 5 课）：
它一遇到错误就立即抛出，其他任务却还在继续运行。

只要你启动了几个任务、并且需要它们全部完成，就优先使用任务组。
]],
  },

  example = [[
async function fetch(name, seconds, fails)
  local ok, err = pcall(function() await asyncio.sleep(seconds) end)
  if not ok then
    print(name .. " cancelled")
    error(err, 0)
  end
  if fails then error(name .. " failed", 0) end
  print(name .. " done")
end

async function main()
  do
    local tg <close> = asyncio.TaskGroup()
    tg:create_task(fetch("a", 1))
    tg:create_task(fetch("b", 2))
  end                                  --[en] waits for a and b --[zh] 在这里等 a 和 b
  print("both done")

  local ok, eg = pcall(function()
    local tg <close> = asyncio.TaskGroup()
    tg:create_task(fetch("c", 3))
    tg:create_task(fetch("d", 1, true))  --[en] fails after 1 s --[zh] 1 秒后出错
  end)
  print(eg)
  for _, e in ipairs(eg.exceptions) do print("  " .. e) end
end

asyncio.run(main)
]],

  output = [[
1.0 a done
2.0 b done
2.0 both done
3.0 c cancelled
3.0 ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
3.0   d failed
]],

  exercise = {
    text = {
      en = [[
`fetch_all` gathers three fetches. When "b" fails at t=2.0, gather raises at
once, but "c" keeps running: it is still pending when `main` returns. Use a
task group so that the failure of "b" stops "c", and `fetch_all` raises an
`ExceptionGroup` holding "b failed".
]],
      zh = [[
`fetch_all` 用 gather 同时发起三次获取。"b" 在 t=2.0 出错时，gather 立即抛出了错误，
可 "c" 还在继续运行：`main` 返回时它仍未完成。改用任务组，让 "b" 的失败叫停 "c"，
并让 `fetch_all` 抛出一个装着 "b failed" 的 `ExceptionGroup`。
]],
    },

    starter = [[
async function fetch(name, seconds, fails)
  await asyncio.sleep(seconds)
  if fails then error(name .. " failed", 0) end
  print(name .. " done")
end

async function fetch_all()
  --[en] TODO: when one fails, the others go on behind our back
  --[zh] TODO：一个出错时，其他的还在背后继续运行
  await asyncio.gather(fetch("a", 1), fetch("b", 2, true), fetch("c", 3))
end

async function main()
  local ok, err = pcall(function() await fetch_all() end)
  print("fetch_all failed: " .. tostring(err))
end

asyncio.run(main)
]],

    solution = [[
async function fetch(name, seconds, fails)
  await asyncio.sleep(seconds)
  if fails then error(name .. " failed", 0) end
  print(name .. " done")
end

async function fetch_all()
  local tg <close> = asyncio.TaskGroup()
  tg:create_task(fetch("a", 1))
  tg:create_task(fetch("b", 2, true))
  tg:create_task(fetch("c", 3))
end

async function main()
  local ok, err = pcall(function() await fetch_all() end)
  print("fetch_all failed: " .. tostring(err))
end

asyncio.run(main)
]],

    hints = {
      {
        en = "Replace the gather with a group: `local tg <close> = asyncio.TaskGroup()` at the top of `fetch_all`, then one `tg:create_task(...)` per fetch.",
        zh = "把 gather 换成任务组：在 `fetch_all` 开头写 `local tg <close> = asyncio.TaskGroup()`，然后每次获取调用一次 `tg:create_task(...)`。",
      },
      {
        en = "No await is needed at the end: leaving `fetch_all` closes `tg`, which waits for the tasks, cancels the rest when one fails, and raises the ExceptionGroup.",
        zh = "末尾不需要 await：离开 `fetch_all` 时 `tg` 被关闭，它会等待各个任务，一个出错就取消其余的，并抛出 ExceptionGroup。",
      },
    },

    checks = {
      {en = "\"c\" is stopped when \"b\" fails", zh = "\"b\" 出错时 \"c\" 被叫停", function(r, t)
        local _, line = t.find(r, "c done")
        if line then
          return t.msg("\"c done\" at t=%s: c went on after b failed", "t=%s 时打印了 \"c done\"：b 出错之后 c 还在继续", t.time(line.t))
        end
        if #r.pending > 0 then
          return t.msg("when b failed, c kept running: still pending when main returned: %s",
                       "b 出错后 c 还在运行：main 返回时这个任务仍未完成：%s", table.concat(r.pending, ", "))
        end
      end},
      {en = "fetch_all raises an ExceptionGroup holding \"b failed\"", zh = "fetch_all 抛出装着 \"b failed\" 的 ExceptionGroup", function(r, t)
        local s = t.run(asyncio.async(function(env)
          local ok, err = pcall(asyncio.await, env.fetch_all())
          if ok then return "none" end
          if not asyncio.iserror(err, asyncio.ExceptionGroup) then return "other", tostring(err) end
          for _, e in ipairs(err.exceptions) do
            if e == "b failed" then return "ok" end
          end
          return "missing", tostring(err)
        end))
        local what = s.error and "other" or s.values[1]
        if what == "none" then
          return t.msg("fetch_all returns without an error; it should raise an ExceptionGroup holding \"b failed\"",
                       "fetch_all 没有抛出错误就返回了；它应该抛出装着 \"b failed\" 的 ExceptionGroup")
        elseif what == "other" then
          return t.msg("fetch_all raises \"%s\", not an ExceptionGroup: a task group raises one",
                       "fetch_all 抛出的是 \"%s\"，不是 ExceptionGroup：任务组才会抛出它",
                       s.error or s.values[2])
        elseif what == "missing" then
          return t.msg("the ExceptionGroup (%s) does not hold \"b failed\"",
                       "这个 ExceptionGroup（%s）里没有 \"b failed\"", s.values[2])
        end
      end},
      {en = "it ends at t=2.0, when b fails", zh = "在 b 出错时、也就是 t=2.0 结束", function(r, t)
        if not t.near(r.time, 2) then
          return t.msg("main ends at t=%s, not 2.0", "main 在 t=%s 结束，不是 2.0", t.time(r.time))
        end
      end},
    },
  },
}

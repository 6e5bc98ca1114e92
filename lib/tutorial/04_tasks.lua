-- Lesson 4: tasks -- create_task, the states of a task, names, await t,
-- and what happens to tasks left pending when main returns.
return {
  title = {en = "Tasks", zh = "任务"},

  text = {
    en = [[
To run coroutines at the same time, make them tasks. `asyncio.create_task(co)`
hands the coroutine to the loop and returns a Task at once. The task starts
at the loop's next pass and runs on its own, while the code that made it
carries on.

A task is pending until its coroutine returns (it is then finished, with a
result), raises an error (finished, with that error) or is cancelled (lesson
7). `t:done()` tells whether it is over, `t:result()` returns its values, and
`await t` waits for it and returns them, or raises its error. Name your
tasks with `{name = "..."}`: the name shows in `tostring(t)`, in error
reports and in the timeline.

`asyncio.gather` (lesson 1) makes tasks for you. With `create_task` you choose
when each one starts and when you wait for it.

Unlike in Python, a task never vanishes because nobody holds a reference to
it: the loop keeps every unfinished task. But one you never await is easy to
forget, and when `main` returns, `asyncio.run` cancels whatever is pending.
]],
    zh = [[
想让几个协程同时运行，就把它们变成任务。`asyncio.create_task(co)`
把协程交给事件循环，并立即返回一个 Task。任务从事件循环的下一轮开始，
自己往前跑；创建它的代码则接着往下执行。

任务在协程返回之前一直是 pending（未完成）状态：协程返回，任务就带着结果完成；
协程抛出错误，任务就带着这个错误完成；任务也可能被取消（第 7 课）。
`t:done()` 判断任务是否结束，`t:result()` 返回它的结果，`await t`
等它结束并返回结果，或者抛出它的错误。用 `{name = "..."}` 给任务起个名字：
名字会出现在 `tostring(t)`、错误报告和时间线里。

`asyncio.gather`（第 1 课）会替你创建任务。用 `create_task`，
则由你决定每个任务何时开始、何时等它。

和 Python 不同，没人引用的任务不会凭空消失：事件循环持有每个未完成的任务。
但从不 await 的任务很容易被遗忘；`main` 返回时，`asyncio.run`
会取消所有还没完成的任务。
]],
  },

  example = [[
async function brew(drink, minutes)
  await asyncio.sleep(minutes)
  return drink .. " is ready"
end

async function main()
  local tea = asyncio.create_task(brew("tea", 3), {name = "tea"})
  local coffee = asyncio.create_task(brew("coffee", 2), {name = "coffee"})
  print(tea)
  print("is the tea done?", tea:done())
  await asyncio.sleep(2.5)   --[en] both tasks run meanwhile --[zh] 这期间两个任务都在运行
  print(coffee)
  print(await tea)           --[en] waits 0.5 more --[zh] 再等 0.5
  print(tea)
end

asyncio.run(main)
]],

  output = [[
0.0 <Task pending name='tea' coro=<brew() running at example:1>>
0.0 is the tea done?	false
2.5 <Task finished name='coffee' result='coffee is ready'>
3.0 tea is ready
3.0 <Task finished name='tea' result='tea is ready'>
]],

  exercise = {
    text = {
      en = [[
`main` starts three downloads as tasks, then waits for only one of them, so
it prints a total of 200 KB at t=2.0 and leaves a download pending (which
`asyncio.run` then cancels). Make it wait for all three and print
"total: 600 KB" at t=3.0, when the slowest is done.
]],
      zh = [[
`main` 把三个下载都建成了任务，却只等了其中一个，于是它在 t=2.0 打印出总共
200 KB，还留下一个没下完的任务（随后被 `asyncio.run` 取消）。
让它等齐三个下载，在最慢的那个完成时、也就是 t=3.0 打印 "total: 600 KB"。
]],
    },

    starter = [[
async function download(name, seconds)
  print("downloading " .. name)
  await asyncio.sleep(seconds)
  print(name .. " downloaded")
  return seconds * 100   --[en] kilobytes --[zh] 千字节
end

async function main()
  local a = asyncio.create_task(download("a.zip", 2))
  local b = asyncio.create_task(download("b.zip", 3))
  local c = asyncio.create_task(download("c.zip", 1))
  local total = await a   --[en] TODO: count all three --[zh] TODO：三个都要算上
  print("total: " .. total .. " KB")
end

asyncio.run(main)
]],

    solution = [[
async function download(name, seconds)
  print("downloading " .. name)
  await asyncio.sleep(seconds)
  print(name .. " downloaded")
  return seconds * 100
end

async function main()
  local a = asyncio.create_task(download("a.zip", 2))
  local b = asyncio.create_task(download("b.zip", 3))
  local c = asyncio.create_task(download("c.zip", 1))
  local total = await a + await b + await c
  print("total: " .. total .. " KB")
end

asyncio.run(main)
]],

    hints = {
      {
        en = "`await a` waits for task a only. The other two tasks are still running (or done) and you can await them too, in any order.",
        zh = "`await a` 只等任务 a。另外两个任务还在运行（或已经完成），你同样可以 await 它们，顺序随意。",
      },
      {
        en = "`local total = await a + await b + await c`. The three run at once anyway: awaiting them one by one costs no extra time.",
        zh = "`local total = await a + await b + await c`。三个任务本来就在同时运行，逐个 await 并不会多花时间。",
      },
    },

    checks = {
      {en = "no task is left pending when main returns", zh = "main 返回时没有遗留未完成的任务", function(r, t)
        if #r.pending > 0 then
          return t.msg("still pending when main returned: %s; asyncio.run cancelled it. Await every task you start.",
                       "main 返回时这个任务还没完成：%s；asyncio.run 把它取消了。启动的每个任务都要 await。",
                       table.concat(r.pending, ", "))
        end
      end},
      {en = "it prints \"total: 600 KB\"", zh = "打印出 \"total: 600 KB\"", function(r, t)
        local _, line = t.find(r, "total:")
        if not line then return t.msg("\"total: ...\" is never printed", "没有打印 \"total: ...\"") end
        if line.text ~= "total: 600 KB" then
          return t.msg("it prints \"%s\": the sizes of all three downloads should add up to 600",
                       "打印的是 \"%s\"：三个下载的大小加起来应该是 600", line.text)
        end
      end},
      {en = "the downloads run at once: done at t=3.0", zh = "下载同时进行：t=3.0 完成", function(r, t)
        if not t.near(r.time, 3) then
          return t.msg("main ends at t=%s, not 3.0: the downloads should run at the same time",
                       "main 在 t=%s 结束，不是 3.0：三个下载应该同时进行", t.time(r.time))
        end
      end},
    },
  },
}

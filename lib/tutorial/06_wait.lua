-- Lesson 6: wait and as_completed -- the first to finish, and each result
-- as soon as it is there.
return {
  title = {en = "wait and as_completed", zh = "wait 与 as_completed"},

  text = {
    en = [[
`gather` waits for everything and keeps the argument order. Two other tools
let you act on results as they come.

`asyncio.wait(tasks, opts)` waits on a list of tasks and returns two lists,
`done` and `pending`. With `{return_when = asyncio.FIRST_COMPLETED}` it
returns as soon as one task is done; with `FIRST_EXCEPTION` as soon as one
fails; with `ALL_COMPLETED` (the default) when all are. `{timeout = s}` makes
it return after s seconds at the latest. `wait` never raises and never
cancels: what is still pending keeps running until you cancel or await it.

`for t in asyncio.as_completed(tasks) do ... end` hands you each task as it
finishes, in finishing order, so you can use each result the moment it is
there: `t:result()` returns the task's values (or raises its error).

Both take tasks: make them with `create_task` first, and keep the list, so
that you can still ask each one for its result or cancel it afterwards.
]],
    zh = [[
`gather` 会等所有任务都完成，并保持参数顺序。另外两个工具能让你在结果陆续到来时就动手处理。

`asyncio.wait(tasks, opts)` 等待一组任务，返回两个列表 `done` 和 `pending`。
加上 `{return_when = asyncio.FIRST_COMPLETED}`，只要有一个任务完成就返回；
`FIRST_EXCEPTION` 表示一有任务出错就返回；`ALL_COMPLETED`（默认）则等全部完成。
`{timeout = s}` 让它最多等 s 秒。`wait` 从不抛出错误，也从不取消任务：
还没完成的任务会继续运行，直到你取消或 await 它们。

`for t in asyncio.as_completed(tasks) do ... end` 按完成的先后，
把任务一个个交给你，于是每个结果一到你就能用上：
`t:result()` 返回任务的结果（或抛出它的错误）。

两者接受的都是任务：先用 `create_task` 创建任务，并保留这个列表，
之后还可以向每个任务要结果，或者取消它。
]],
  },

  example = [[
async function download(from, seconds)
  await asyncio.sleep(seconds)
  return from
end

async function main()
  local mirrors = {
    asyncio.create_task(download("eu", 3)),
    asyncio.create_task(download("us", 1.5)),
    asyncio.create_task(download("asia", 2)),
  }
  local done, pending = await asyncio.wait(mirrors,
    {return_when = asyncio.FIRST_COMPLETED})
  print("fastest: " .. done[1]:result() .. "; still running: " .. #pending)
  for _, t in ipairs(pending) do t:cancel() end   --[en] one copy is enough --[zh] 一份就够了

  local jobs = {}
  for i, seconds in ipairs({3, 1, 2}) do
    jobs[i] = asyncio.create_task(download("job " .. i, seconds))
  end
  for t in asyncio.as_completed(jobs) do
    print("finished: " .. t:result())
  end
end

asyncio.run(main)
]],

  output = [[
1.5 fastest: us; still running: 2
2.5 finished: job 2
3.5 finished: job 3
4.5 finished: job 1
]],

  exercise = {
    text = {
      en = [[
Three sensors answer after 3, 1 and 2 seconds. `main` awaits them in list
order, so every reading is printed at t=3.0, when the slowest sensor
answers. Print each reading as soon as it arrives (east at t=1.0, south at
t=2.0, north at t=3.0), then the average, 23.0, at t=3.0.
]],
      zh = [[
三个传感器分别在 3 秒、1 秒、2 秒后给出读数。`main` 按列表顺序 await 它们，
结果每个读数都要等到最慢的传感器回答时、也就是 t=3.0 才打印。
改成每个读数一到就打印（east 在 t=1.0，south 在 t=2.0，north 在 t=3.0），
最后在 t=3.0 打印平均值 23.0。
]],
    },

    starter = [[
async function read_sensor(name, seconds, value)
  await asyncio.sleep(seconds)
  return name, value
end

async function main()
  local sensors = {
    asyncio.create_task(read_sensor("north", 3, 20)),
    asyncio.create_task(read_sensor("east", 1, 23)),
    asyncio.create_task(read_sensor("south", 2, 26)),
  }
  local sum = 0
  --[en] TODO: print each reading as soon as it arrives
  --[zh] TODO：每个读数一到就打印
  for _, t in ipairs(sensors) do
    local name, value = await t
    print(name .. ": " .. value)
    sum = sum + value
  end
  print("average: " .. sum / #sensors)
end

asyncio.run(main)
]],

    solution = [[
async function read_sensor(name, seconds, value)
  await asyncio.sleep(seconds)
  return name, value
end

async function main()
  local sensors = {
    asyncio.create_task(read_sensor("north", 3, 20)),
    asyncio.create_task(read_sensor("east", 1, 23)),
    asyncio.create_task(read_sensor("south", 2, 26)),
  }
  local sum = 0
  for t in asyncio.as_completed(sensors) do
    local name, value = t:result()
    print(name .. ": " .. value)
    sum = sum + value
  end
  print("average: " .. sum / #sensors)
end

asyncio.run(main)
]],

    hints = {
      {
        en = "Awaiting the tasks in list order makes the fast sensors wait behind the slow north one. You want them in finishing order.",
        zh = "按列表顺序 await，快的传感器就得排在慢的 north 后面。你需要的是按完成先后的顺序。",
      },
      {
        en = "`for t in asyncio.as_completed(sensors) do local name, value = t:result() ... end`",
        zh = "`for t in asyncio.as_completed(sensors) do local name, value = t:result() ... end`",
      },
    },

    checks = {
      {en = "each reading is printed as soon as it arrives", zh = "每个读数一到就打印", function(r, t)
        for _, s in ipairs({{"east: 23", 1}, {"south: 26", 2}, {"north: 20", 3}}) do
          local _, line = t.find(r, s[1])
          if not line then return t.msg("\"%s\" is never printed", "没有打印 \"%s\"", s[1]) end
          if not t.near(line.t, s[2]) then
            return t.msg("\"%s\" is printed at t=%s, but that sensor answered at t=%d.0: it waited behind a slower one",
                         "\"%s\" 在 t=%s 才打印，可那个传感器 t=%d.0 就回答了：它排在了更慢的传感器后面",
                         s[1], t.time(line.t), s[2])
          end
        end
      end},
      {en = "then the average, 23.0, at t=3.0", zh = "然后在 t=3.0 打印平均值 23.0", function(r, t)
        local i, line = t.find(r, "average:")
        if not line then return t.msg("\"average: ...\" is never printed", "没有打印 \"average: ...\"") end
        if line.text ~= "average: 23.0" or i < #r.lines then
          return t.msg("the last line should be \"average: 23.0\"; it prints \"%s\"",
                       "最后一行应该是 \"average: 23.0\"，实际打印的是 \"%s\"", r.lines[#r.lines].text)
        end
      end},
    },
  },
}

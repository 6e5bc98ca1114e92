-- Lesson 10: loop callbacks -- call_soon, call_later, call_at, handles and
-- their order.
return {
  title = {en = "Loop callbacks", zh = "事件循环回调"},

  text = {
    en = [[
Underneath the tasks, the loop runs plain callbacks, and you can schedule
your own:

- `loop:call_soon(fn, ...)` calls `fn(...)` at the loop's next pass;
- `loop:call_later(delay, fn, ...)` calls it after delay seconds;
- `loop:call_at(when, fn, ...)` calls it when `loop:time()` reaches when.

Each returns a handle; `h:cancel()` withdraws the call if it has not run
yet. Callbacks run in a fixed order: the `call_soon` ones first come, first
served; timers by their time, and timers due at the same time in the order
they were scheduled.

A callback is an ordinary function, not a task: it cannot await, and it
should return quickly. If it has waiting to do, let it start a task
(`asyncio.create_task`) or complete a future (lesson 9). An error in a
callback does not stop the loop: it goes to the loop's exception handler.

Callbacks suit small jobs: a reminder, a retry, a periodic tick, and the
timeouts you met in lesson 8.
]],
    zh = [[
在任务之下，事件循环运行的其实是普通的回调，你也可以安排自己的回调：

- `loop:call_soon(fn, ...)` 在事件循环的下一轮调用 `fn(...)`；
- `loop:call_later(delay, fn, ...)` 在 delay 秒后调用它；
- `loop:call_at(when, fn, ...)` 在 `loop:time()` 到达 when 时调用它。

它们都返回一个句柄；回调还没运行时，`h:cancel()` 可以撤销它。回调按固定的顺序运行：
`call_soon` 安排的先来先服务；定时器按时间先后，同一时刻到期的定时器按安排的先后。

回调是普通函数，不是任务：它不能 await，而且应该很快返回。如果需要等待，
就让它启动一个任务（`asyncio.create_task`），或者去完成一个 future（第 9 课）。
回调里出错不会让事件循环停下：错误会交给事件循环的异常处理函数。

回调适合做小事：提醒、重试、定期的滴答，还有第 8 课里的超时。
]],
  },

  example = [[
async function main()
  local loop = asyncio.get_running_loop()
  loop:call_later(2, print, "call_later(2)")
  loop:call_at(1, print, "call_at(1)")
  loop:call_later(1, print, "call_later(1), scheduled after call_at(1)")
  loop:call_soon(print, "call_soon, first")
  loop:call_soon(print, "call_soon, second")
  local h = loop:call_later(1.5, print, "never printed")
  h:cancel()
  print("main goes on; nothing has run yet")
  await asyncio.sleep(3)
end

asyncio.run(main)
]],

  output = [[
0.0 main goes on; nothing has run yet
0.0 call_soon, first
0.0 call_soon, second
1.0 call_at(1)
1.0 call_later(1), scheduled after call_at(1)
2.0 call_later(2)
]],

  exercise = {
    text = {
      en = [[
An alarm is set to ring 5 seconds from now. At t=4 the sleeper snoozes it for
4 more seconds, so it should ring once, at t=8.0. It rings twice: at t=5.0
and at t=8.0. Fix `snooze`. (Each call to `snooze` should push the single
alarm back, however many times it is called.)
]],
      zh = [[
闹钟定在 5 秒后响。到 t=4 时，睡觉的人按了贪睡，让它再过 4 秒响，所以它应该只响一次，
在 t=8.0。可它响了两次：t=5.0 一次，t=8.0 又一次。修好 `snooze`。
（不管 `snooze` 被调用多少次，每次都应该把这唯一的闹钟往后推。）
]],
    },

    starter = [[
local alarm   --[en] the handle of the alarm that is set --[zh] 当前闹钟的句柄

function set_alarm(delay)
  alarm = asyncio.get_running_loop():call_later(delay, print, "ring!")
end

function snooze(delay)
  --[en] TODO: the alarm set before still rings
  --[zh] TODO：之前设的闹钟还是会响
  set_alarm(delay)
end

async function main()
  set_alarm(5)
  await asyncio.sleep(4)
  snooze(4)
  await asyncio.sleep(6)
end

asyncio.run(main)
]],

    solution = [[
local alarm

function set_alarm(delay)
  alarm = asyncio.get_running_loop():call_later(delay, print, "ring!")
end

function snooze(delay)
  alarm:cancel()
  set_alarm(delay)
end

async function main()
  set_alarm(5)
  await asyncio.sleep(4)
  snooze(4)
  await asyncio.sleep(6)
end

asyncio.run(main)
]],

    hints = {
      {
        en = "`call_later` returns a handle, and `set_alarm` keeps it in `alarm`. A handle can withdraw its call.",
        zh = "`call_later` 会返回一个句柄，`set_alarm` 把它存在 `alarm` 里。句柄可以撤销它对应的调用。",
      },
      {
        en = "In `snooze`, call `alarm:cancel()` before setting the new alarm.",
        zh = "在 `snooze` 里，设新闹钟之前先调用 `alarm:cancel()`。",
      },
    },

    checks = {
      {en = "the alarm rings once, at t=8.0", zh = "闹钟只响一次，在 t=8.0", function(r, t)
        local rings = {}
        for _, l in ipairs(r.lines) do
          if l.text == "ring!" then rings[#rings + 1] = "t=" .. t.time(l.t) end
        end
        if #rings ~= 1 or rings[1] ~= "t=8.0" then
          if #rings == 0 then
            return t.msg("the alarm never rings; it should ring once, at t=8.0", "闹钟一次也没响；它应该在 t=8.0 响一次")
          end
          return t.msg("the alarm rings at %s; it should ring once, at t=8.0: the first alarm is still scheduled",
                       "闹钟响的时间是 %s；它应该只在 t=8.0 响一次：第一个闹钟还排着没撤销",
                       table.concat(rings, ", "))
        end
      end},
      {en = "snoozing twice pushes it back twice", zh = "按两次贪睡就推后两次", function(r, t)
        local s = t.run(asyncio.async(function(env)
          env.set_alarm(5)
          asyncio.await(asyncio.sleep(4))
          env.snooze(4)
          asyncio.await(asyncio.sleep(3))
          env.snooze(4)
          asyncio.await(asyncio.sleep(6))
        end))
        local rings = {}
        for _, l in ipairs(s.lines) do
          if l.text == "ring!" then rings[#rings + 1] = "t=" .. t.time(l.t) end
        end
        if s.error or #rings ~= 1 or rings[1] ~= "t=11.0" then
          return t.msg("set at 5, snoozed at t=4 and at t=7 for 4 s each, the alarm should ring once at t=11.0; it rang at: %s",
                       "5 秒后响的闹钟，在 t=4 和 t=7 各贪睡 4 秒，应该只在 t=11.0 响一次；实际响的时间：%s",
                       s.error or (#rings == 0 and "-" or table.concat(rings, ", ")))
        end
      end},
    },
  },
}

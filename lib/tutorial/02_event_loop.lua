-- Lesson 2: the event loop -- one thread, tasks take turns at await, timers
-- wake in order, loop:time().
return {
  title = {en = "The event loop", zh = "事件循环"},

  text = {
    en = [[
The event loop is the engine under every async program. In one thread, over
and over, it:

- runs each task that is ready, one at a time, until the task reaches an
  `await` that has to wait;
- when nothing is ready, waits for the next timer to fire (or for I/O to
  arrive), and starts again.

Nobody interrupts a task between two awaits: `await` is the only place where
it lets the loop run something else. So the code between two awaits runs as
one piece, and a task that never awaits holds everyone up (lesson 11).

`asyncio.run(main)` makes a loop, runs `main` on it until main returns, then
closes the loop. Inside, `asyncio.get_running_loop()` returns the loop and
`loop:time()` reads its clock.

The example runs two pairs of counters. The first pair sleeps 0 seconds: no
time passes, yet each `await` hands control back, so A and B take turns. The
second pair sleeps for real: the loop always wakes the timer due first.
]],
    zh = [[
事件循环是所有异步程序背后的引擎。它在一个线程里不停地重复：

- 依次运行每个就绪的任务，一次只运行一个，直到这个任务遇到一个需要等待的 `await`；
- 没有就绪的任务时，就等下一个定时器到期（或者等 I/O 到来），然后从头再来。

两个 await 之间，任务不会被打断：`await` 是它让事件循环去运行别的任务的唯一地方。
所以两个 await 之间的代码总是一口气执行完；也正因为如此，
一个从不 await 的任务会拖住大家（第 11 课）。

`asyncio.run(main)` 创建一个事件循环，在上面运行 `main` 直到它返回，
然后关闭事件循环。在循环里，`asyncio.get_running_loop()` 返回当前的事件循环，
`loop:time()` 读取它的时钟。

示例运行了两组计数器。第一组每次睡 0 秒：时间没有前进，但每个 `await`
仍然交出了控制权，所以 A 和 B 轮流执行。第二组睡的是实实在在的时长：
事件循环总是先唤醒最早到期的定时器。
]],
  },

  example = [[
async function count(name, delay)
  for i = 1, 3 do
    print(name .. " " .. i)
    await asyncio.sleep(delay)   --[en] back to the loop until the timer fires --[zh] 回到事件循环，等定时器到期
  end
end

async function main()
  local loop = asyncio.get_running_loop()
  await asyncio.gather(count("A", 0), count("B", 0))
  print("the time is still " .. loop:time())
  await asyncio.gather(count("fast", 1), count("slow", 2.5))
  print("the time is now " .. loop:time())
end

asyncio.run(main)
]],

  output = [[
0.0 A 1
0.0 B 1
0.0 A 2
0.0 B 2
0.0 A 3
0.0 B 3
0.0 the time is still 0.0
0.0 fast 1
0.0 slow 1
1.0 fast 2
2.0 fast 3
2.5 slow 2
5.0 slow 3
7.5 the time is now 7.5
]],

  exercise = {
    text = {
      en = [[
A metronome should tick at t=1.0, 2.0, 3.0 and 4.0. After each tick it does
0.25 seconds of work. The starter sleeps 1 second after that work, so the
ticks drift: 1.0, 2.25, 3.5, 4.75.

Fix `metronome` so that every tick falls exactly on the second, work and all:
read the clock with `loop:time()` and sleep just long enough.
]],
      zh = [[
节拍器应该在 t=1.0、2.0、3.0、4.0 各响一次，每响一次之后要做 0.25 秒的工作。
初始代码做完工作再睡 1 秒，于是节拍越走越偏：1.0、2.25、3.5、4.75。

修改 `metronome`，让每一拍都准确地落在整秒上，工作照做：
用 `loop:time()` 读时钟，算出刚好该睡多久。
]],
    },

    starter = [[
async function metronome(ticks)
  local loop = asyncio.get_running_loop()
  for i = 1, ticks do
    --[en] TODO: the ticks drift; sleep until the next whole second
    --[zh] TODO：节拍会漂移；应该一直睡到下一个整秒
    await asyncio.sleep(1)
    print("tick " .. i)
    await asyncio.sleep(0.25)   --[en] the work done at each tick --[zh] 每一拍要做的工作
  end
end

async function main()
  await metronome(4)
end

asyncio.run(main)
]],

    solution = [[
async function metronome(ticks)
  local loop = asyncio.get_running_loop()
  local start = loop:time()
  for i = 1, ticks do
    await asyncio.sleep(start + i - loop:time())
    print("tick " .. i)
    await asyncio.sleep(0.25)
  end
end

async function main()
  await metronome(4)
end

asyncio.run(main)
]],

    hints = {
      {
        en = "`asyncio.sleep(1)` counts from the moment it is called, which is 0.25 s after the previous tick. Sleep until a point in time instead.",
        zh = "`asyncio.sleep(1)` 从调用它的那一刻算起，而那时离上一拍已经过去 0.25 秒了。应该睡到某个时间点为止。",
      },
      {
        en = "Note `local start = loop:time()` before the loop. Tick i is due at `start + i`, so sleep `start + i - loop:time()` seconds.",
        zh = "在循环之前记下 `local start = loop:time()`。第 i 拍应该在 `start + i` 响，所以要睡 `start + i - loop:time()` 秒。",
      },
    },

    checks = {
      {en = "it ticks four times", zh = "响了四次", function(r, t)
        for i = 1, 4 do
          if not t.find(r, "tick " .. i) then
            return t.msg("\"tick %d\" is never printed", "没有打印 \"tick %d\"", i)
          end
        end
      end},
      {en = "every tick falls on the second", zh = "每一拍都落在整秒上", function(r, t)
        for i = 1, 4 do
          local _, line = t.find(r, "tick " .. i)
          if not t.near(line.t, i) then
            return t.msg("tick %d comes at t=%s, not %d.0: the 0.25 s of work before each sleep adds up",
                         "第 %d 拍在 t=%s 响，不是 %d.0：每次睡之前那 0.25 秒工作累积起来了",
                         i, t.time(line.t), i)
          end
        end
      end},
      {en = "the work still follows each tick (main ends at t=4.25)", zh = "每拍之后照样做工作（main 在 t=4.25 结束）", function(r, t)
        if not t.near(r.time, 4.25) then
          return t.msg("main ends at t=%s, not 4.25: keep the 0.25 s of work after each tick",
                       "main 在 t=%s 结束，不是 4.25：每拍之后的 0.25 秒工作要保留", t.time(r.time))
        end
      end},
    },
  },
}

-- Lesson 1: why async -- the chores, one after another and all at once.
return {
  title = {en = "Why async: doing the chores", zh = "为什么要异步：做家务"},

  text = {
    en = [[
Programs spend much of their time waiting: for a disk, a network, a timer.
Think of three chores: the washing machine needs 3 minutes for the laundry,
the cooker 2 for the rice, and sweeping takes 1. (Minutes are seconds here.)

Done one after another, they take 3 + 2 + 1 = 6. But you need not stand by
the washing machine: start it, start the rice, and sweep while both run.
Everything is done when the longest chore is: after 3.

That is asynchronous programming: while one job waits, another makes
progress, all in one thread. In alua:

- `async function` declares a function that can wait;
- `await x` waits for x, and other work runs meanwhile;
- `asyncio.sleep(s)` stands for any wait of s seconds;
- `asyncio.gather(a, b, c)` runs a, b and c at once and waits for all three.

Examples run under virtual time: the clock starts at 0 and jumps to the next
timer instead of sleeping, so every time shown is exact. The left column of
the output is when each line was printed; the timeline below has a row per
task: █ where it ran, ░ where it slept, ─ where it waited for others.
]],
    zh = [[
程序的大部分时间往往花在等待上：等磁盘、等网络、等定时器。拿做家务打个比方：
洗衣机洗衣服要 3 分钟，电饭煲煮饭要 2 分钟，扫地要 1 分钟（这里用秒代替分钟）。

一件接一件地做，总共要 3 + 2 + 1 = 6 分钟。可你不必守在洗衣机旁边：
先把衣服放进去，再把米下锅，趁它们运转的工夫去扫地。最慢的那件做完，
家务也就全做完了：只要 3 分钟。

这就是异步编程：一件事在等待时，另一件事接着推进，而且都在同一个线程里。在 alua 中：

- `async function` 声明一个可以等待的函数；
- `await x` 等待 x 完成，等待期间其他工作照常进行；
- `asyncio.sleep(s)` 代表任意一段 s 秒的等待；
- `asyncio.gather(a, b, c)` 同时运行 a、b、c，并等三者全部完成。

本教程的示例都在虚拟时间下运行：时钟从 0 开始，无事可做时直接拨到下一个定时器的时刻，
而不是真的干等。哪怕等上一小时也是瞬间完成，看到的每个时间都是精确的。
输出最左边一栏就是这一行打印时的时间；下面的时间线每个任务占一行：
█ 是它在运行，░ 是它在睡，─ 是它在等别的任务。
]],
  },

  example = [[
async function chore(name, minutes)
  print("start " .. name)
  await asyncio.sleep(minutes)   --[en] waiting, not working --[zh] 在等，不是在干活
  print(name .. " done")
end

async function one_after_another()
  await chore("laundry", 3)
  await chore("rice", 2)
  await chore("sweeping", 1)
end

async function all_at_once()
  await asyncio.gather(chore("laundry", 3), chore("rice", 2),
                       chore("sweeping", 1))
end

async function main()
  local loop = asyncio.get_running_loop()
  local start = loop:time()
  await one_after_another()
  print(("one after another: %.1f minutes"):format(loop:time() - start))
  start = loop:time()
  await all_at_once()
  print(("all at once: %.1f minutes"):format(loop:time() - start))
end

asyncio.run(main)
]],

  output = [[
0.0 start laundry
3.0 laundry done
3.0 start rice
5.0 rice done
5.0 start sweeping
6.0 sweeping done
6.0 one after another: 6.0 minutes
6.0 start laundry
6.0 start rice
6.0 start sweeping
7.0 sweeping done
8.0 rice done
9.0 laundry done
9.0 all at once: 3.0 minutes
]],

  exercise = {
    text = {
      en = [[
Breakfast: coffee takes 2 minutes, eggs 4, toast 1. The starter makes them
one after another, so breakfast is served at t=7.0. Make all three at once,
so that it is served at t=4.0, as soon as the slowest (the eggs) is ready.

Type `edit` to change your copy of the program, then `check`.
]],
      zh = [[
做早餐：煮咖啡 2 分钟，煮鸡蛋 4 分钟，烤吐司 1 分钟。初始代码一样接一样地做，
早餐要到 t=7.0 才上桌。改成三样同时做，让早餐在最慢的鸡蛋做好时、
也就是 t=4.0 上桌。

输入 `edit` 修改你的练习文件，然后输入 `check` 检查。
]],
    },

    starter = [[
async function make(item, minutes)
  print("start " .. item)
  await asyncio.sleep(minutes)
  print(item .. " ready")
end

async function main()
  --[en] TODO: this takes 7 minutes; make it take 4.
  --[zh] TODO：现在要 7 分钟，改成 4 分钟。
  await make("coffee", 2)
  await make("eggs", 4)
  await make("toast", 1)
  print("breakfast is served")
end

asyncio.run(main)
]],

    solution = [[
async function make(item, minutes)
  print("start " .. item)
  await asyncio.sleep(minutes)
  print(item .. " ready")
end

async function main()
  await asyncio.gather(make("coffee", 2), make("eggs", 4), make("toast", 1))
  print("breakfast is served")
end

asyncio.run(main)
]],

    hints = {
      {
        en = "Each `await make(...)` waits until that item is ready before the next one starts. Start all three first, then wait for them together.",
        zh = "每个 `await make(...)` 都要等这一样做好，下一样才开始。应该先让三样都开始，再一起等它们完成。",
      },
      {
        en = "`await asyncio.gather(make(\"coffee\", 2), make(\"eggs\", 4), make(\"toast\", 1))` runs the three at once and returns when all are ready.",
        zh = "`await asyncio.gather(make(\"coffee\", 2), make(\"eggs\", 4), make(\"toast\", 1))` 会同时做三样，全部做好后才返回。",
      },
    },

    checks = {
      {en = "coffee, eggs and toast are all made", zh = "咖啡、鸡蛋、吐司都做好了", function(r, t)
        for _, item in ipairs({"coffee", "eggs", "toast"}) do
          if not t.find(r, item .. " ready") then
            return t.msg("\"%s ready\" is never printed: is a step missing?",
                         "没有打印 \"%s ready\"：是不是漏了一样？", item)
          end
        end
      end},
      {en = "breakfast is served after everything is ready", zh = "三样都做好之后才上早餐", function(r, t)
        local served = t.find(r, "breakfast is served")
        if not served then
          return t.msg("\"breakfast is served\" is never printed", "没有打印 \"breakfast is served\"")
        end
        for _, item in ipairs({"coffee", "eggs", "toast"}) do
          local i = t.find(r, item .. " ready")
          if i > served then
            return t.msg("breakfast is served before the %s is ready: wait for all three first",
                         "%s 还没好早餐就上桌了：要先等三样都做好", item)
          end
        end
      end},
      {en = "breakfast is served at t=4.0", zh = "早餐在 t=4.0 上桌", function(r, t)
        local _, line = t.find(r, "breakfast is served")
        if not t.near(line.t, 4) then
          return t.msg("breakfast is served at t=%s, not 4.0: the three are still made one after another",
                       "早餐在 t=%s 才上桌，不是 4.0：三样还是一样接一样地做", t.time(line.t))
        end
      end},
    },
  },
}

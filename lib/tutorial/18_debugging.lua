-- Lesson 18: debugging -- the task dump, a deadlock report, the timeline.
return {
  title = {en = "Debugging: who waits for what", zh = "调试：谁在等什么"},

  text = {
    en = [[
When an async program hangs or crawls, the question is always the same:
which task is waiting for what? alua can tell, because every wait goes
through its own primitives.

- `asyncio.print_ps()` prints every task as a tree, each under the task that
  awaits it: its name, its state, the line where it is suspended, what it
  waits on (a sleep, a queue, a lock and who holds it, a socket...) and for
  how long. `asyncio.ps()` returns the same as a list of records. In a
  running program, Ctrl+\ (SIGQUIT) prints it without stopping anything.
- A deadlock, where nothing can ever wake what main waits for, is reported
  with the chain of waits ("Task 'a' waits for Lock <...> (held by Task
  'b')", and so on) and alua exits with status 1 instead of hanging.
- `alua --timeline file.lua` draws which task ran when, as the lessons do;
  `alua --trace out.json file.lua` writes a trace to open in Perfetto.
- Debug mode (`ALUA_DEBUG=1`) reports slow steps (lesson 11) and where a
  coroutine that was never awaited was created.

Name your tasks (`{name = "..."}`): all of these reports show the names.
]],
    zh = [[
异步程序卡住或者慢得出奇时，问题总是同一个：哪个任务在等什么？
alua 能回答，因为每一次等待都经过它自己的原语。

- `asyncio.print_ps()` 把所有任务打印成一棵树，每个任务挂在 await 它的任务下面：
  名字、状态、挂起在哪一行、在等什么（睡眠、队列、锁以及谁持有它、套接字……）、
  等了多久。`asyncio.ps()` 以记录列表的形式返回同样的信息。
  程序运行时按 Ctrl+\（SIGQUIT）也会打印它，而且不会中断任何东西。
- 死锁，即 main 等待的东西再也不可能被唤醒时，alua 会报告等待链
  （"Task 'a' waits for Lock <...> (held by Task 'b')" 之类），
  并以状态码 1 退出，而不是一直挂着。
- `alua --timeline file.lua` 像课程里一样画出每个任务何时运行；
  `alua --trace out.json file.lua` 写出一份可以用 Perfetto 打开的跟踪文件。
- 调试模式（`ALUA_DEBUG=1`）会报告运行过久的步骤（第 11 课），
  以及从未被 await 的协程是在哪里创建的。

给任务起名字（`{name = "..."}`）：这些报告里显示的都是名字。
]],
  },

  example = [[
async function consumer(q)
  print("got " .. await q:get())   --[en] nobody puts anything yet --[zh] 暂时没人往队列里放东西
end

async function holder(lock)
  local _ <close> = await lock:acquire()
  await asyncio.sleep(10)          --[en] keeps the lock for 10 s --[zh] 占着锁 10 秒
end

async function waiter(lock)
  local _ <close> = await lock:acquire()
  print("the waiter has the lock")
end

async function main()
  local q, lock = asyncio.Queue(), asyncio.Lock()
  asyncio.create_task(consumer(q), {name = "consumer"})
  asyncio.create_task(holder(lock), {name = "holder"})
  local w = asyncio.create_task(waiter(lock), {name = "waiter"})
  await asyncio.sleep(1)
  asyncio.print_ps()               --[en] who waits for what? --[zh] 谁在等什么？
  q:put_nowait("a parcel")
  await w
end

asyncio.run(main)
]],

  output = [[
...
1.0 got a parcel
10.0 the waiter has the lock
]],

  exercise = {
    text = {
      en = [[
Two transfers run at once, from a to b and from b to a. Each locks its source
account, then its target. The program never ends: alua reports a deadlock.
Read the report, then fix `transfer` so that both transfers go through and
the accounts end with a = 90 and b = 110.
]],
      zh = [[
两笔转账同时进行：一笔从 a 转到 b，一笔从 b 转到 a。每笔都先锁住转出账户，再锁转入账户。
程序永远结束不了：alua 报告了死锁。读一读报告，然后修好 `transfer`，
让两笔转账都完成，最后 a = 90、b = 110。
]],
    },

    starter = [[
local a = {name = "a", balance = 100, lock = asyncio.Lock()}
local b = {name = "b", balance = 100, lock = asyncio.Lock()}

async function transfer(from, to, amount)
  --[en] TODO: two transfers in opposite directions wait for each other
  --[zh] TODO：方向相反的两笔转账会互相等待
  local _ <close> = await from.lock:acquire()
  await asyncio.sleep(0.1)   --[en] check the balance --[zh] 核对余额
  local _ <close> = await to.lock:acquire()
  from.balance = from.balance - amount
  to.balance = to.balance + amount
  print(("%d from %s to %s"):format(amount, from.name, to.name))
end

async function main()
  await asyncio.gather(
    asyncio.create_task(transfer(a, b, 30), {name = "a to b"}),
    asyncio.create_task(transfer(b, a, 20), {name = "b to a"}))
  print(("a = %d, b = %d"):format(a.balance, b.balance))
end

asyncio.run(main)
]],

    solution = [[
local a = {name = "a", balance = 100, lock = asyncio.Lock()}
local b = {name = "b", balance = 100, lock = asyncio.Lock()}

async function transfer(from, to, amount)
  --[en] every transfer takes the locks in the same order: by name
  --[zh] 每笔转账都按同样的顺序加锁：按账户名
  local first, second = from, to
  if second.name < first.name then first, second = second, first end
  local _ <close> = await first.lock:acquire()
  await asyncio.sleep(0.1)
  local _ <close> = await second.lock:acquire()
  from.balance = from.balance - amount
  to.balance = to.balance + amount
  print(("%d from %s to %s"):format(amount, from.name, to.name))
end

async function main()
  await asyncio.gather(
    asyncio.create_task(transfer(a, b, 30), {name = "a to b"}),
    asyncio.create_task(transfer(b, a, 20), {name = "b to a"}))
  print(("a = %d, b = %d"):format(a.balance, b.balance))
end

asyncio.run(main)
]],

    hints = {
      {
        en = "The first transfer holds a's lock and waits for b's; the second holds b's and waits for a's. Neither can ever go on.",
        zh = "第一笔转账拿着 a 的锁等 b 的锁；第二笔拿着 b 的锁等 a 的锁。谁也没法继续。",
      },
      {
        en = "Take the two locks in the same order in every transfer, whatever the direction: for instance the account whose name sorts first, then the other.",
        zh = "不管转账方向如何，每笔转账都按同样的顺序拿这两把锁：比如先拿名字排在前面的账户的锁，再拿另一个。",
      },
    },

    checks = {
      {en = "both transfers go through", zh = "两笔转账都完成了", function(r, t)
        for _, line in ipairs({"30 from a to b", "20 from b to a"}) do
          if not t.find(r, line) then
            return t.msg("\"%s\" is never printed", "没有打印 \"%s\"", line)
          end
        end
      end},
      {en = "a = 90 and b = 110 at the end", zh = "最后 a = 90、b = 110", function(r, t)
        local _, line = t.find(r, "a = ")
        if not line or line.text ~= "a = 90, b = 110" then
          return t.msg("the accounts end as \"%s\", not \"a = 90, b = 110\"", "账户最后是 \"%s\"，不是 \"a = 90, b = 110\"",
                       line and line.text or "?")
        end
      end},
    },
  },
}

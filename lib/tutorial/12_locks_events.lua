-- Lesson 12: locks and events -- a race across an await, a Lock held with a
-- <close> guard, an Event that wakes every waiter.
return {
  title = {en = "Locks and events", zh = "锁与事件"},

  text = {
    en = [[
Tasks share one thread, so a line like `balance = balance - amount` never runs
halfway. But a check and the update that relies on it may be separated by an
`await`, and then another task can slip in between: both see enough money,
both take it. That is a race, and async code has them too.

`asyncio.Lock()` lets one task at a time through a section that awaits.
`local _ <close> = await lock:acquire()` waits for the lock and holds it to
the end of the block: the guard releases it on the way out, whatever
happens (a return, an error, a cancellation). Waiting tasks get the lock in
the order they asked for it.

`asyncio.Event()` is a flag that tasks can wait for: `await ev:wait()`
returns once someone calls `ev:set()`, which wakes every waiter at once.
`ev:clear()` lowers the flag again and `ev:is_set()` reads it.

Keep locked sections short, and never await, inside one, something that
needs the same lock: the task would wait for itself.
]],
    zh = [[
所有任务共用一个线程，所以像 `balance = balance - amount` 这样的一行代码，
绝不会只执行一半。但“检查”和依赖这个检查的“更新”之间如果隔着一个 `await`，
别的任务就可能趁机插进来：两个任务都看到钱够，于是都取了钱。
这就是竞态条件，异步代码同样会有。

`asyncio.Lock()` 让一段含有 await 的代码一次只放一个任务进去。
`local _ <close> = await lock:acquire()` 等到锁，并一直持有到代码块结束：
不管怎么离开（return、出错、被取消），守卫对象都会在离开时释放锁。
等锁的任务按申请的先后拿到锁。

`asyncio.Event()` 是一个可以等待的标志：`await ev:wait()` 一直等到有人调用
`ev:set()`，而 `set` 会一次唤醒所有等待者。`ev:clear()` 把标志放下，
`ev:is_set()` 读取它。

加锁的代码段要尽量短；也绝不要在里面 await 一个需要同一把锁的东西：
那样任务就会等它自己。
]],
  },

  example = [[
local balance = 100
local lock = asyncio.Lock()

async function withdraw(who, amount)
  local _ <close> = await lock:acquire()   --[en] held until we return --[zh] 持有到函数返回
  if balance >= amount then
    await asyncio.sleep(1)                 --[en] ask the bank --[zh] 询问银行
    balance = balance - amount
    print(who .. " takes " .. amount .. ", " .. balance .. " left")
  else
    print(who .. " is refused: only " .. balance .. " left")
  end
end

async function runner(name, start)
  await start:wait()
  print(name .. " runs")
end

async function main()
  local start = asyncio.Event()
  local runners = {asyncio.create_task(runner("ann", start)),
                   asyncio.create_task(runner("bob", start))}
  await asyncio.sleep(1)
  print("ready, set, go!")
  start:set()                              --[en] wakes every waiter --[zh] 唤醒所有等待者
  await asyncio.wait(runners)
  await asyncio.gather(withdraw("ann", 60), withdraw("bob", 60))
end

asyncio.run(main)
]],

  output = [[
1.0 ready, set, go!
1.0 ann runs
1.0 bob runs
2.0 ann takes 60, 40 left
2.0 bob is refused: only 40 left
]],

  exercise = {
    text = {
      en = [[
Three people take 40 each from an account holding 100. All three check the
balance before any of them updates it, so all three get their money and the
balance ends at -20. Make `withdraw` safe: two withdrawals go through, the
third is refused, and the balance ends at 20 without ever going below 0.
]],
      zh = [[
三个人各从一个有 100 元的账户里取 40 元。三人都在别人更新余额之前查看了余额，
结果三个人都取到了钱，余额变成了 -20。让 `withdraw` 变得安全：
两次取款成功，第三次被拒绝，余额最终是 20，而且从不低于 0。
]],
    },

    starter = [[
local balance = 100

async function withdraw(who, amount)
  --[en] TODO: another task can run between the check and the update
  --[zh] TODO：在检查和更新之间，别的任务可能插进来
  if balance >= amount then
    await asyncio.sleep(1)   --[en] ask the bank --[zh] 询问银行
    balance = balance - amount
    print(who .. " takes " .. amount .. ", balance " .. balance)
  else
    print(who .. " is refused, balance " .. balance)
  end
end

async function main()
  await asyncio.gather(withdraw("ann", 40), withdraw("bob", 40),
                       withdraw("cy", 40))
  print("final balance " .. balance)
end

asyncio.run(main)
]],

    solution = [[
local balance = 100
local lock = asyncio.Lock()

async function withdraw(who, amount)
  local _ <close> = await lock:acquire()
  if balance >= amount then
    await asyncio.sleep(1)
    balance = balance - amount
    print(who .. " takes " .. amount .. ", balance " .. balance)
  else
    print(who .. " is refused, balance " .. balance)
  end
end

async function main()
  await asyncio.gather(withdraw("ann", 40), withdraw("bob", 40),
                       withdraw("cy", 40))
  print("final balance " .. balance)
end

asyncio.run(main)
]],

    hints = {
      {
        en = "The `await` between the check and the update lets the other withdrawals run their check too. The check and the update must happen while no other withdrawal is in between.",
        zh = "检查和更新之间的那个 `await` 让其他取款也跑去做了检查。检查和更新必须在没有别的取款插进来的情况下完成。",
      },
      {
        en = "Make one `local lock = asyncio.Lock()` next to `balance`, and start `withdraw` with `local _ <close> = await lock:acquire()`.",
        zh = "在 `balance` 旁边创建一把锁 `local lock = asyncio.Lock()`，然后在 `withdraw` 开头写 `local _ <close> = await lock:acquire()`。",
      },
    },

    checks = {
      {en = "the balance never goes below 0", zh = "余额从不低于 0", function(r, t)
        for _, l in ipairs(r.lines) do
          if l.text:find("balance %-") then
            return t.msg("\"%s\" at t=%s: the withdrawals all checked the balance before any of them took money",
                         "打印了 \"%s\"（t=%s）：所有取款都在有人取钱之前检查了余额", l.text, t.time(l.t))
          end
        end
      end},
      {en = "two withdrawals go through, one is refused", zh = "两次取款成功，一次被拒绝", function(r, t)
        local took, refused = 0, 0
        for _, l in ipairs(r.lines) do
          if l.text:find(" takes ") then took = took + 1 end
          if l.text:find(" is refused") then refused = refused + 1 end
        end
        if took ~= 2 or refused ~= 1 then
          return t.msg("withdrawals that go through: %d, refused: %d; with 100 and three times 40, two should go through and one be refused",
                       "成功 %d 次，被拒绝 %d 次；100 元、取三次 40 元，应该成功两次、拒绝一次", took, refused)
        end
      end},
      {en = "the final balance is 20", zh = "最终余额是 20", function(r, t)
        local _, line = t.find(r, "final balance")
        if not line then return t.msg("\"final balance ...\" is never printed", "没有打印 \"final balance ...\"") end
        if line.text ~= "final balance 20" then
          return t.msg("it prints \"%s\", not \"final balance 20\"", "打印的是 \"%s\"，不是 \"final balance 20\"", line.text)
        end
      end},
    },
  },
}

-- Lesson 11: blocking code and threads -- a busy task holds the loop, debug
-- mode reports it, to_thread moves the work off the loop.
return {
  title = {en = "Blocking code and threads", zh = "阻塞代码与线程"},

  text = {
    en = [[
The loop runs one thing at a time. A task that computes for a second without
awaiting, or calls something that blocks (`os.execute`, a slow C library),
holds the loop for that whole second: no other task runs, no timer fires.

Virtual time cannot show this: its clock moves only while the loop waits, so
CPU work costs no virtual time at all. Debug mode can: with
`asyncio.run(main, {debug = true})` (or `ALUA_DEBUG=1`) alua reports every
task step that runs for 100 ms or more without yielding.

Two cures:

- `await asyncio.to_thread(fn, ...)` runs `fn(...)` on a worker thread, in a
  Lua state of its own, while the loop goes on. `fn` may use globals and its
  arguments but no upvalues; arguments and results are copied (numbers,
  strings, booleans, tables of those).
- For Lua work you can split, an `await asyncio.sleep(0)` every so often
  lets the others run.

A worker thread takes real time even under virtual time: the times printed
while one runs vary from run to run.
]],
    zh = [[
事件循环一次只运行一件事。一个任务连续计算一秒而不 await，或者调用了会阻塞的东西
（`os.execute`、很慢的 C 库），整整这一秒事件循环都被它占着：
别的任务不能运行，定时器也不会触发。

虚拟时间显示不出这一点：它的时钟只在事件循环等待时才走，CPU 计算根本不花虚拟时间。
调试模式却能看出来：用 `asyncio.run(main, {debug = true})`（或 `ALUA_DEBUG=1`），
alua 会报告每一次运行超过 100 毫秒而没有让出的任务步骤。

两种解法：

- `await asyncio.to_thread(fn, ...)` 在工作线程上运行 `fn(...)`，
  它有自己独立的 Lua 状态，事件循环照常运转。`fn` 可以用全局变量和参数，
  但不能用上值；参数和结果都会被复制（数字、字符串、布尔值，以及由它们组成的表）。
- 对于可以拆开的 Lua 计算，每隔一段 `await asyncio.sleep(0)` 一下，让别人也能运行。

即使在虚拟时间下，工作线程花的也是真实时间，所以线程运行期间打印的时间每次会略有不同。
]],
  },

  example = [[
function count_primes(n)           --[en] plain Lua, busy on the CPU --[zh] 纯 Lua，一直占着 CPU
  local count = 0
  for i = 2, n do
    local prime = true
    for d = 2, math.floor(math.sqrt(i)) do
      if i % d == 0 then prime = false break end
    end
    if prime then count = count + 1 end
  end
  return count
end

async function heartbeat()
  for i = 1, 3 do
    await asyncio.sleep(0.02)
    print("beat " .. i)
  end
end

async function main()
  local beat = asyncio.create_task(heartbeat())
  print("inline:", count_primes(1000000))   --[en] the loop is stuck here --[zh] 事件循环卡在这里
  print("in a thread:", await asyncio.to_thread(count_primes, 1000000))
  await beat
end

asyncio.run(main, {debug = true})
]],

  output = [[
0.0 inline:	78498
0.0 ! Executing <Task pending name='Task-1' coro=<main() running at example:23> ...
~ beat 1
~ beat 2
~ beat 3
~ in a thread:	78498
]],

  exercise = {
    -- the checks look at debug mode's reports, whatever the program asks for
    debug = true,

    text = {
      en = [[
`main` computes a checksum inline, holding the loop for a few hundred
milliseconds: debug mode reports the long step, and the heartbeat cannot
beat until the checksum is done. Compute it without holding the loop, so
that the heartbeat beats meanwhile and no step takes 100 ms or more. The
checksum must stay 941863517.
]],
      zh = [[
`main` 直接在任务里计算校验和，占住事件循环几百毫秒：调试模式报告了这一步太长，
而心跳也要等校验和算完才能跳。改成不占住事件循环地计算，让心跳在此期间照常跳动，
而且没有一步超过 100 毫秒。校验和必须仍是 941863517。
]],
    },

    starter = [[
function checksum(n)   --[en] stands for hashing a big file --[zh] 代表给大文件算哈希
  local sum = 0
  for i = 1, n do sum = (sum * 31 + i) % 1000000007 end
  return sum
end

async function heartbeat(beats)
  for i = 1, beats do
    await asyncio.sleep(0.01)
    print("beat " .. i)
  end
end

async function main()
  local beat = asyncio.create_task(heartbeat(3))
  local sum = checksum(40000000)   --[en] TODO: this holds the loop --[zh] TODO：这会占住事件循环
  print("checksum: " .. sum)
  await beat
end

asyncio.run(main, {debug = true})
]],

    solution = [[
function checksum(n)
  local sum = 0
  for i = 1, n do sum = (sum * 31 + i) % 1000000007 end
  return sum
end

async function heartbeat(beats)
  for i = 1, beats do
    await asyncio.sleep(0.01)
    print("beat " .. i)
  end
end

async function main()
  local beat = asyncio.create_task(heartbeat(3))
  local sum = await asyncio.to_thread(checksum, 40000000)
  print("checksum: " .. sum)
  await beat
end

asyncio.run(main, {debug = true})
]],

    hints = {
      {
        en = "While `checksum` runs, nothing else can: the heartbeat's timers are due but the loop is busy. Move the call off the loop.",
        zh = "`checksum` 运行时别的都不能运行：心跳的定时器到期了，可事件循环正忙着。把这个调用挪出事件循环。",
      },
      {
        en = "`local sum = await asyncio.to_thread(checksum, 40000000)`: `checksum` uses only its argument, so it can run in a worker's own Lua state.",
        zh = "`local sum = await asyncio.to_thread(checksum, 40000000)`：`checksum` 只用到它的参数，所以能在工作线程自己的 Lua 状态里运行。",
      },
    },

    checks = {
      {en = "the checksum is 941863517", zh = "校验和是 941863517", function(r, t)
        local _, line = t.find(r, "checksum:")
        if not line then return t.msg("\"checksum: ...\" is never printed", "没有打印 \"checksum: ...\"") end
        if line.text ~= "checksum: 941863517" then
          return t.msg("it prints \"%s\", not \"checksum: 941863517\"", "打印的是 \"%s\"，不是 \"checksum: 941863517\"", line.text)
        end
      end},
      {en = "the heartbeat beats while the checksum is computed", zh = "计算校验和期间心跳照常跳动", function(r, t)
        local b = t.find(r, "beat 1")
        if not b or b > t.find(r, "checksum:") then
          return t.msg("\"beat 1\" comes only after the checksum: the loop could not run the heartbeat meanwhile",
                       "\"beat 1\" 直到校验和算完才出现：事件循环在此期间没法运行心跳")
        end
      end},
      {en = "no step holds the loop for 100 ms or more", zh = "没有哪一步占住事件循环超过 100 毫秒", function(r, t)
        for _, l in ipairs(r.lines) do
          if l.err and l.text:find("^Executing") then
            return t.msg("debug mode reports: %s", "调试模式报告：%s", l.text)
          end
        end
      end},
    },
  },
}

-- Lesson 8: timeouts -- wait_for, timeout scopes, and falling back on a
-- TimeoutError only.
return {
  title = {en = "Timeouts", zh = "超时"},

  text = {
    en = [[
Anything that waits can wait too long: a server that never answers, a lock
nobody releases. Give it a deadline.

`await asyncio.wait_for(aw, s)` waits for `aw` at most s seconds. If `aw` is
not done by then, it is cancelled (its cleanup runs, as in lesson 7) and
`wait_for` raises `TimeoutError`.

`local _ <close> = asyncio.timeout(s)` puts a deadline on the rest of the
block, however many awaits it holds. At the deadline the task is cancelled;
when that `CancelledError` reaches the end of the block, it turns into a
`TimeoutError`. `asyncio.timeout_at(when)` takes a time on the loop's clock
(`loop:time()`) instead of a delay.

Catch the timeout with `pcall` and recognise it with
`asyncio.iserror(err, asyncio.TimeoutError)`. Handle only that: other errors
(a refused connection, a bug) must go on up, not be mistaken for slowness.
]],
    zh = [[
凡是等待，都可能等得太久：服务器一直不回应，锁一直没人释放。给它定个期限。

`await asyncio.wait_for(aw, s)` 最多等 `aw` s 秒。到时候 `aw` 还没完成，
就会被取消（它的清理代码照常执行，见第 7 课），`wait_for` 抛出 `TimeoutError`。

`local _ <close> = asyncio.timeout(s)` 给代码块的剩余部分设一个期限，
不管里面有多少个 await。期限一到，任务就被取消；这个 `CancelledError`
传到代码块末尾时，会变成 `TimeoutError`。`asyncio.timeout_at(when)`
接受的则是事件循环时钟（`loop:time()`）上的一个时间点，而不是一段时长。

用 `pcall` 捕获超时，用 `asyncio.iserror(err, asyncio.TimeoutError)` 识别它。
只处理超时：其他错误（连接被拒绝、程序 bug）必须继续向上抛，不能被当成“太慢”。
]],
  },

  example = [[
async function ask(server, seconds)
  await asyncio.sleep(seconds)
  return server .. " answers"
end

async function main()
  print(await asyncio.wait_for(ask("fast", 1), 2))
  local ok, err = pcall(function()
    return await asyncio.wait_for(ask("slow", 5), 2)
  end)
  print(ok, err, asyncio.iserror(err, asyncio.TimeoutError))

  ok, err = pcall(function()
    local _ <close> = asyncio.timeout(2.5)   --[en] for the whole block --[zh] 管住整个代码块
    print(await ask("first", 1))
    print(await ask("second", 1))
    print(await ask("third", 1))             --[en] would end at 3: too late --[zh] 要到 3 秒才结束：太晚了
  end)
  print(ok, err)
end

asyncio.run(main)
]],

  output = [[
1.0 fast answers
3.0 false	TimeoutError	true
4.0 first answers
5.0 second answers
5.5 false	TimeoutError
]],

  exercise = {
    text = {
      en = [[
`get_price` asks a slow server, which takes 5 seconds. Make it give up after
2 seconds and return the cached price (42) instead, so that `main` prints
"price: 42" at t=2.0. When the server answers in time, return its price; when
it fails with another error, let that error through: the cache stands in for
a slow server only.
]],
      zh = [[
`get_price` 去问一个很慢的服务器，要 5 秒才有回应。让它等 2 秒就放弃，
改为返回缓存的价格（42），使 `main` 在 t=2.0 打印 "price: 42"。
服务器及时回应时，就返回服务器给的价格；服务器因其他错误失败时，要让错误传出去：
缓存只用来替代“太慢”的服务器。
]],
    },

    starter = [[
local cache = {price = 42}

async function fetch_price()
  await asyncio.sleep(5)   --[en] a slow server --[zh] 很慢的服务器
  return 45
end

async function get_price()
  --[en] TODO: give up after 2 seconds and use cache.price
  --[zh] TODO：2 秒后放弃，改用 cache.price
  return await fetch_price()
end

async function main()
  print("price: " .. await get_price())
end

asyncio.run(main)
]],

    solution = [[
local cache = {price = 42}

async function fetch_price()
  await asyncio.sleep(5)
  return 45
end

async function get_price()
  local ok, result = pcall(function()
    return await asyncio.wait_for(fetch_price(), 2)
  end)
  if ok then return result end
  if asyncio.iserror(result, asyncio.TimeoutError) then
    return cache.price
  end
  error(result, 0)   --[en] not a timeout: pass it on --[zh] 不是超时：继续抛出
end

async function main()
  print("price: " .. await get_price())
end

asyncio.run(main)
]],

    hints = {
      {
        en = "`await asyncio.wait_for(fetch_price(), 2)` raises `TimeoutError` after 2 seconds. Wrap it in `pcall(function() return ... end)`.",
        zh = "`await asyncio.wait_for(fetch_price(), 2)` 在 2 秒后抛出 `TimeoutError`。把它放进 `pcall(function() return ... end)` 里。",
      },
      {
        en = "If the pcall succeeded, return the price. If `asyncio.iserror(err, asyncio.TimeoutError)`, return `cache.price`. Otherwise re-raise: `error(err, 0)`.",
        zh = "pcall 成功就返回价格；如果 `asyncio.iserror(err, asyncio.TimeoutError)`，返回 `cache.price`；否则重新抛出：`error(err, 0)`。",
      },
    },

    checks = {
      {en = "with the slow server: \"price: 42\" at t=2.0", zh = "服务器很慢时：t=2.0 打印 \"price: 42\"", function(r, t)
        local _, line = t.find(r, "price:")
        if not line then return t.msg("\"price: ...\" is never printed", "没有打印 \"price: ...\"") end
        if line.text ~= "price: 42" or not t.near(line.t, 2) then
          return t.msg("it prints \"%s\" at t=%s: after 2 seconds get_price should give up and use the cache",
                       "它打印了 \"%s\"（t=%s）：2 秒后 get_price 应该放弃，改用缓存",
                       line.text, t.time(line.t))
        end
      end},
      {en = "with a server that answers in 1 s: its price", zh = "服务器 1 秒内回应时：用服务器的价格", function(r, t)
        local s = t.run(asyncio.async(function(env)
          env.fetch_price = asyncio.async(function()
            asyncio.await(asyncio.sleep(1))
            return 45
          end)
          return asyncio.await(env.get_price())
        end))
        if s.error or s.values[1] ~= 45 or not t.near(s.time, 1) then
          return t.msg("with a server that answers 45 after 1 s, get_price gives %s at t=%s: it should return 45 at t=1.0",
                       "服务器 1 秒后回应 45 时，get_price 给出了 %s（t=%s）：应该在 t=1.0 返回 45",
                       s.error or tostring(s.values[1]), t.time(s.time))
        end
      end},
      {en = "with a failing server: its error goes through", zh = "服务器出错时：错误照常传出", function(r, t)
        local s = t.run(asyncio.async(function(env)
          env.fetch_price = asyncio.async(function()
            asyncio.await(asyncio.sleep(0.5))
            error("connection refused", 0)
          end)
          return asyncio.await(env.get_price())
        end))
        if not s.error or not s.error:find("connection refused", 1, true) then
          return t.msg("with a server that fails at once (\"connection refused\"), get_price gives %s: only a TimeoutError should fall back to the cache",
                       "服务器立即出错（\"connection refused\"）时，get_price 给出了 %s：只有 TimeoutError 才该改用缓存",
                       s.error or tostring(s.values[1]))
        end
      end},
    },
  },
}

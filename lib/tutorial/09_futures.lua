-- Lesson 9: futures -- a result that someone else sets, done callbacks,
-- turning a callback API into an awaitable one.
return {
  title = {en = "Futures", zh = "Future"},

  text = {
    en = [[
A Future is a box for a result that is not there yet. Whoever has the result
puts it in with `f:set_result(...)`, or an error with `f:set_exception(err)`;
whoever needs it waits with `await f`. The state changes once, from pending
to done: setting a result a second time raises `InvalidStateError`.

A task is a future that runs a coroutine to get its result. A plain future
has no code of its own: it is how callback-style code (a timer, a C library,
another thread) hands a result to code that awaits.

`f:add_done_callback(fn)` calls `fn(f)` once the future is done: through the
loop, never from inside `set_result`. `asyncio.Future()` makes a future on
the running loop.

You seldom need a future in application code. Reach for one when you must
turn a callback into something you can await: create the future, let the
callback complete it, and await it.
]],
    zh = [[
Future 是一个装“尚未得到的结果”的盒子。拿到结果的一方用 `f:set_result(...)`
把结果放进去，或者用 `f:set_exception(err)` 放进一个错误；需要结果的一方用
`await f` 等待。它的状态只变一次，从 pending 变为完成：再次设置结果会抛出
`InvalidStateError`。

任务就是一个靠运行协程来得到结果的 future。普通的 future 自己没有代码：
回调风格的代码（定时器、C 库、另一个线程）就是通过它把结果交给 await 的一方。

`f:add_done_callback(fn)` 在 future 完成后调用 `fn(f)`：经由事件循环调用，
绝不会在 `set_result` 内部直接调用。`asyncio.Future()` 在当前运行的事件循环上创建一个 future。

应用代码里很少需要直接用 future。当你必须把一个回调变成可以 await 的东西时，
才用得上它：创建 future，让回调去完成它，然后 await 它。
]],
  },

  example = [[
async function courier(parcel, door)
  await asyncio.sleep(2)
  print("the courier rings")
  door:set_result(parcel)
end

async function main()
  local door = asyncio.Future()
  door:add_done_callback(function(f)
    print("callback: the door opens for " .. f:result())
  end)
  asyncio.create_task(courier("a book", door))
  print("waiting at the door...")
  print("got " .. await door)
  print(pcall(door.set_result, door, "a second book"))
end

asyncio.run(main)
]],

  output = [[
0.0 waiting at the door...
2.0 the courier rings
2.0 callback: the door opens for a book
2.0 got a book
2.0 false	InvalidStateError: ...
]],

  exercise = {
    text = {
      en = [[
`http_get` is an old-style API: it calls `on_done(err, body)` a second later,
from the loop. `fetch` should turn it into something you can await: return
the body, or raise the error. The starter returns nil at once, before the
answer comes. Fix `fetch` with a future.
]],
      zh = [[
`http_get` 是一个老式 API：一秒后由事件循环调用 `on_done(err, body)`。
`fetch` 应该把它变成可以 await 的形式：返回 body，或者抛出错误。
初始代码在答复到来之前就立刻返回了 nil。用一个 future 修好 `fetch`。
]],
    },

    starter = [[
--[en] An old-style API: it calls on_done(err, body) later, from the loop.
--[zh] 老式 API：稍后由事件循环调用 on_done(err, body)。
function http_get(url, on_done)
  asyncio.get_running_loop():call_later(1, function()
    if url:find("missing") then
      on_done("404 not found", nil)
    else
      on_done(nil, "<html>" .. url .. "</html>")
    end
  end)
end

async function fetch(url)
  --[en] TODO: wait for the answer; return the body or raise the error
  --[zh] TODO：等答复到来；返回 body，或抛出错误
  local body
  http_get(url, function(err, b) body = b end)
  return body
end

async function main()
  print(await fetch("alua.org"))
  print(pcall(function() return await fetch("alua.org/missing") end))
end

asyncio.run(main)
]],

    solution = [[
function http_get(url, on_done)
  asyncio.get_running_loop():call_later(1, function()
    if url:find("missing") then
      on_done("404 not found", nil)
    else
      on_done(nil, "<html>" .. url .. "</html>")
    end
  end)
end

async function fetch(url)
  local f = asyncio.Future()
  http_get(url, function(err, body)
    if err then f:set_exception(err) else f:set_result(body) end
  end)
  return await f
end

async function main()
  print(await fetch("alua.org"))
  print(pcall(function() return await fetch("alua.org/missing") end))
end

asyncio.run(main)
]],

    hints = {
      {
        en = "`fetch` returns before the callback runs. Make a future with `asyncio.Future()`, complete it in the callback, and `return await f`.",
        zh = "`fetch` 在回调运行之前就返回了。用 `asyncio.Future()` 创建一个 future，在回调里完成它，然后 `return await f`。",
      },
      {
        en = "In the callback: `if err then f:set_exception(err) else f:set_result(body) end`. Awaiting the future then returns the body or raises the error.",
        zh = "回调里写：`if err then f:set_exception(err) else f:set_result(body) end`。这样 await 这个 future 时，要么得到 body，要么抛出错误。",
      },
    },

    checks = {
      {en = "fetch waits for the body", zh = "fetch 会等到 body", function(r, t)
        local s = t.run(asyncio.async(function(env) return asyncio.await(env.fetch("lua.org")) end))
        if s.error then
          return t.msg("fetch(\"lua.org\") raised %s", "fetch(\"lua.org\") 抛出了 %s", s.error)
        end
        if s.values[1] ~= "<html>lua.org</html>" or not t.near(s.time, 1) then
          return t.msg("fetch(\"lua.org\") returned %s at t=%s, not the body at t=1.0: it must wait until http_get calls back",
                       "fetch(\"lua.org\") 返回了 %s（t=%s），而不是在 t=1.0 返回 body：它必须等 http_get 回调",
                       tostring(s.values[1]), t.time(s.time))
        end
      end},
      {en = "fetch raises the error", zh = "fetch 会抛出错误", function(r, t)
        local s = t.run(asyncio.async(function(env) return asyncio.await(env.fetch("lua.org/missing")) end))
        if not s.error or not s.error:find("404 not found", 1, true) then
          return t.msg("fetch(\"lua.org/missing\") should raise \"404 not found\"; it returned %s",
                       "fetch(\"lua.org/missing\") 应该抛出 \"404 not found\"，它却返回了 %s",
                       s.values and tostring(s.values[1]) or "?")
        end
      end},
      {en = "two fetches at once take one second", zh = "同时发起两次 fetch 只需一秒", function(r, t)
        local s = t.run(asyncio.async(function(env)
          return asyncio.await(asyncio.gather(env.fetch("a.org"), env.fetch("b.org")))
        end))
        if s.error or not t.near(s.time, 1) then
          return t.msg("gathering fetch(\"a.org\") and fetch(\"b.org\") ends at t=%s, not 1.0",
                       "同时 gather fetch(\"a.org\") 和 fetch(\"b.org\")，在 t=%s 才结束，不是 1.0",
                       s.error or t.time(s.time))
        end
      end},
    },
  },
}

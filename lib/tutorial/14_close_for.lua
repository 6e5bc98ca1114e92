-- Lesson 14: <close> and for -- Lua's answers to `async with` and `async
-- for`, with awaits inside __close handlers and iterators.
return {
  title = {en = "<close> and for: async with, async for", zh = "<close> 与 for：对应 async with 和 async for"},

  text = {
    en = [[
Python writes `async with lock:` and `async for line in reader:`. Lua has two
features that do the same jobs, and alua lets you await in both.

`local x <close> = value` calls the `__close` metamethod of value's metatable
when `x` goes out of scope: at the end of the block, on a `return`, on an
error, on a cancellation. `__close(x, err)` receives the error, if there is
one. In alua a `__close` handler may await: it can say goodbye to a server,
flush a buffer, wait for a child task. The lock guard (lesson 12),
`asyncio.timeout` (lesson 8) and task groups (next lesson) are such values.

A generic `for` calls an iterator function until it returns nil, and that
function may await. So results that arrive over time are just a for loop:
`for line in reader:lines() do ... end`,
`for t in asyncio.as_completed(tasks) do ... end`. To write your own,
return a function (a closure) that awaits the next value.

Release resources with `<close>` rather than with a call at the end of the
function: that call is skipped when an error or a cancellation comes first.
]],
    zh = [[
Python 写 `async with lock:` 和 `async for line in reader:`。Lua 有两个特性能做同样的事，
而 alua 允许在两者中使用 await。

`local x <close> = value` 会在 `x` 离开作用域时调用 value 的元表里的
`__close` 元方法：代码块结束、`return`、出错、被取消，都会触发。
如果有错误，`__close(x, err)` 会收到它。在 alua 中，`__close`
处理函数里可以 await：可以向服务器道别、刷新缓冲区、等待子任务。
锁的守卫对象（第 12 课）、`asyncio.timeout`（第 8 课）和任务组（下一课）都是这样的值。

泛型 `for` 反复调用迭代器函数，直到它返回 nil，而这个函数里可以 await。
所以陆续到来的结果只是一个 for 循环：`for line in reader:lines() do ... end`、
`for t in asyncio.as_completed(tasks) do ... end`。要自己写一个，
就返回一个会 await 下一个值的函数（闭包）。

释放资源要用 `<close>`，而不是在函数末尾调用一次释放：
一旦错误或取消先到，末尾的那次调用就会被跳过。
]],
  },

  example = [[
function open_session(name)
  print("open " .. name)
  return setmetatable({name = name}, {
    __close = function(self, err)
      await asyncio.sleep(0.5)        --[en] closing can wait too --[zh] 关闭时也可以等待
      print("closed " .. self.name .. (err and " after: " .. err or ""))
    end,
  })
end

function ticks(n, every)            --[en] an iterator that awaits --[zh] 会 await 的迭代器
  local i = 0
  return function()
    if i == n then return nil end
    await asyncio.sleep(every)
    i = i + 1
    return i
  end
end

async function main()
  do
    local db <close> = open_session("db")
    for i in ticks(3, 1) do print("tick " .. i) end
  end
  print("after the block")
  print(pcall(function()
    local cache <close> = open_session("cache")
    error("disk full", 0)
  end))
end

asyncio.run(main)
]],

  output = [[
0.0 open db
1.0 tick 1
2.0 tick 2
3.0 tick 3
3.5 closed db
3.5 after the block
3.5 open cache
4.0 closed cache after: disk full
4.0 false	disk full
]],

  exercise = {
    text = {
      en = [[
`report` borrows a connection from a pool and gives it back at the end. When
the query fails, the error skips `conn:close()` and the connection leaks:
`main` ends with one connection still open. Make `report` give the connection
back whatever happens: on success, on an error, and when its task is
cancelled in the middle of the query.
]],
      zh = [[
`report` 从连接池借一个连接，用完在末尾归还。查询出错时，错误跳过了
`conn:close()`，连接就泄漏了：`main` 结束时还有一个连接没关。
让 `report` 无论如何都归还连接：成功时、出错时，以及任务在查询中途被取消时。
]],
    },

    starter = [[
local pool = {open = 0}

function open_connections() return pool.open end

function connect()
  pool.open = pool.open + 1
  return setmetatable({closed = false}, {
    __index = {close = function(conn)
      if not conn.closed then
        conn.closed = true
        pool.open = pool.open - 1
      end
    end},
    __close = function(conn) conn:close() end,
  })
end

async function query(conn, sql)
  await asyncio.sleep(1)
  if sql:find("DROP") then error("permission denied", 0) end
  return "rows of " .. sql
end

async function report(sql)
  local conn = connect()   --[en] TODO: leaks when query fails --[zh] TODO：查询出错时会泄漏
  local rows = await query(conn, sql)
  conn:close()
  return rows
end

async function main()
  print(await report("SELECT 1"))
  print(pcall(function() return await report("DROP TABLE users") end))
  print("connections still open: " .. open_connections())
end

asyncio.run(main)
]],

    solution = [[
local pool = {open = 0}

function open_connections() return pool.open end

function connect()
  pool.open = pool.open + 1
  return setmetatable({closed = false}, {
    __index = {close = function(conn)
      if not conn.closed then
        conn.closed = true
        pool.open = pool.open - 1
      end
    end},
    __close = function(conn) conn:close() end,
  })
end

async function query(conn, sql)
  await asyncio.sleep(1)
  if sql:find("DROP") then error("permission denied", 0) end
  return "rows of " .. sql
end

async function report(sql)
  local conn <close> = connect()
  return await query(conn, sql)
end

async function main()
  print(await report("SELECT 1"))
  print(pcall(function() return await report("DROP TABLE users") end))
  print("connections still open: " .. open_connections())
end

asyncio.run(main)
]],

    hints = {
      {
        en = "The connection's metatable already has a `__close` metamethod that closes it. What makes Lua call it when `report` is left, whichever way?",
        zh = "连接的元表里已经有一个会关闭连接的 `__close` 元方法。怎样才能让 Lua 在 `report` 以任何方式退出时都调用它？",
      },
      {
        en = "`local conn <close> = connect()`; then the `conn:close()` at the end is no longer needed: `return await query(conn, sql)`.",
        zh = "`local conn <close> = connect()`；这样末尾的 `conn:close()` 就不需要了：`return await query(conn, sql)`。",
      },
    },

    checks = {
      {en = "reports still work", zh = "report 仍然正常工作", function(r, t)
        if not t.find(r, "rows of SELECT 1") then
          return t.msg("report(\"SELECT 1\") no longer prints \"rows of SELECT 1\"",
                       "report(\"SELECT 1\") 不再打印 \"rows of SELECT 1\" 了")
        end
        if not t.find(r, "permission denied") then
          return t.msg("the failing report should still raise \"permission denied\"",
                       "失败的 report 仍应抛出 \"permission denied\"")
        end
      end},
      {en = "the connection is given back after an error", zh = "出错后连接被归还", function(r, t)
        local _, line = t.find(r, "connections still open:")
        if not line then return t.msg("\"connections still open: ...\" is never printed", "没有打印 \"connections still open: ...\"") end
        if line.text ~= "connections still open: 0" then
          return t.msg("\"%s\": the failed query's error skipped conn:close()",
                       "\"%s\"：查询出错，错误跳过了 conn:close()", line.text)
        end
      end},
      {en = "the connection is given back when the task is cancelled", zh = "任务被取消时连接被归还", function(r, t)
        local s = t.run(asyncio.async(function(env)
          local before = env.open_connections()
          local task = asyncio.create_task(env.report("SELECT 2"))
          asyncio.await(asyncio.sleep(0.5))
          task:cancel()
          pcall(asyncio.await, task)
          return env.open_connections() - before
        end))
        if s.error or s.values[1] ~= 0 then
          return t.msg("after cancelling report(\"SELECT 2\") in the middle of its query, connections left open: %s",
                       "在查询中途取消 report(\"SELECT 2\") 之后，仍有 %s 个连接没有关闭",
                       s.error or tostring(s.values[1]))
        end
      end},
    },
  },
}

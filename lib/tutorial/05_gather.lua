-- Lesson 5: gather -- results in argument order, the first error, and
-- return_exceptions.
return {
  title = {en = "gather", zh = "gather"},

  text = {
    en = [[
`asyncio.gather(a, b, c)` runs its awaitables at once (coroutines become
tasks) and, when awaited, returns a list of their results in the order of
the arguments, whatever order they finished in. `results.n` is the count, so
a nil result keeps its place.

If one of them fails, `await gather(...)` raises that error at once. The
others are not stopped: they keep running on their own, and may still print
or change things after you have moved on.

With `{return_exceptions = true}` as the last argument, gather waits for all
of them and returns every outcome: an error takes its place in the list, and
you decide what to do with it.

Cancelling a gather (lesson 7) cancels the children that are not done yet.
]],
    zh = [[
`asyncio.gather(a, b, c)` 同时运行传给它的可等待对象（协程会被包装成任务），
await 它时返回一个结果列表，顺序与参数顺序一致，与完成的先后无关。
`results.n` 是结果个数，所以结果为 nil 的也会占住自己的位置。

如果其中一个出错，`await gather(...)` 会立即抛出这个错误。其余的并不会停下：
它们继续自己运行，在你已经往下走之后还可能打印东西或改动数据。

把 `{return_exceptions = true}` 作为最后一个参数，gather 就会等所有的都结束，
把每一个的结果都交给你：出错的那一项放的是错误本身，由你决定怎么处理。

取消一个 gather（第 7 课）会取消其中尚未完成的子任务。
]],
  },

  example = [[
async function fetch(url, seconds)
  await asyncio.sleep(seconds)
  if url:find("missing") then error("404: " .. url, 0) end
  print("got " .. url)
  return #url * 100              --[en] the page's size --[zh] 页面大小
end

async function main()
  local sizes = await asyncio.gather(fetch("alua.org", 3),
                                     fetch("lua.org", 1),
                                     fetch("python.org", 2))
  print(sizes[1], sizes[2], sizes[3])   --[en] argument order --[zh] 参数顺序

  local results = await asyncio.gather(fetch("lua.org", 1),
                                       fetch("missing.org", 2),
                                       {return_exceptions = true})
  print(results[1], results[2])

  local ok, err = pcall(function()
    return await asyncio.gather(fetch("missing.org", 1),
                                fetch("slow.org", 3))
  end)
  print(ok, err)                 --[en] slow.org goes on meanwhile --[zh] slow.org 还在继续
  await asyncio.sleep(3)
end

asyncio.run(main)
]],

  output = [[
1.0 got lua.org
2.0 got python.org
3.0 got alua.org
3.0 800	700	1000
4.0 got lua.org
5.0 700	404: missing.org
6.0 false	404: missing.org
8.0 got slow.org
]],

  exercise = {
    text = {
      en = [[
`main` fetches four pages one after another, and the failing one stops it
all: it raises "500 from bad.com" at t=4.0. Fetch the four at once and count
the failure instead of stopping, so that `main` prints
"fetched 600 KB, 1 failed" at t=3.0, when the slowest page has arrived.
]],
      zh = [[
`main` 一个接一个地获取四个页面，出错的那个让一切都停了下来：它在 t=4.0 抛出
"500 from bad.com"。改成同时获取这四个页面，遇到失败就计数而不是停下，
让 `main` 在最慢的页面到达时、也就是 t=3.0 打印 "fetched 600 KB, 1 failed"。
]],
    },

    starter = [[
local latency = {["a.com"] = 3, ["bad.com"] = 1,
                 ["b.com"] = 2, ["c.com"] = 1}

async function fetch(url)
  await asyncio.sleep(latency[url])
  if url == "bad.com" then error("500 from " .. url, 0) end
  return latency[url] * 100   --[en] kilobytes --[zh] 千字节
end

async function main()
  local total, failed = 0, 0
  --[en] TODO: fetch all four at once, and count the failure
  --[zh] TODO：四个同时获取，失败的计数
  for _, url in ipairs({"a.com", "bad.com", "b.com", "c.com"}) do
    total = total + await fetch(url)
  end
  print(("fetched %d KB, %d failed"):format(total, failed))
end

asyncio.run(main)
]],

    solution = [[
local latency = {["a.com"] = 3, ["bad.com"] = 1,
                 ["b.com"] = 2, ["c.com"] = 1}

async function fetch(url)
  await asyncio.sleep(latency[url])
  if url == "bad.com" then error("500 from " .. url, 0) end
  return latency[url] * 100
end

async function main()
  local total, failed = 0, 0
  local results = await asyncio.gather(fetch("a.com"), fetch("bad.com"),
                                       fetch("b.com"), fetch("c.com"),
                                       {return_exceptions = true})
  for i = 1, results.n do
    if type(results[i]) == "number" then
      total = total + results[i]
    else
      failed = failed + 1
    end
  end
  print(("fetched %d KB, %d failed"):format(total, failed))
end

asyncio.run(main)
]],

    hints = {
      {
        en = "`asyncio.gather(fetch(\"a.com\"), fetch(\"bad.com\"), ...)` runs the four at once. On its own it still raises at the first error.",
        zh = "`asyncio.gather(fetch(\"a.com\"), fetch(\"bad.com\"), ...)` 会同时获取四个页面。但只这样写，遇到第一个错误它仍然会抛出。",
      },
      {
        en = "Add `{return_exceptions = true}` as the last argument. Then each result is either a size (a number) or the error (here a string): test `type(results[i]) == \"number\"`.",
        zh = "最后加一个参数 `{return_exceptions = true}`。这样每个结果要么是大小（数字），要么是错误（这里是字符串）：用 `type(results[i]) == \"number\"` 区分。",
      },
    },

    checks = {
      {en = "it prints \"fetched 600 KB, 1 failed\"", zh = "打印 \"fetched 600 KB, 1 failed\"", function(r, t)
        local _, line = t.find(r, "fetched")
        if not line then return t.msg("\"fetched ...\" is never printed", "没有打印 \"fetched ...\"") end
        if line.text ~= "fetched 600 KB, 1 failed" then
          return t.msg("it prints \"%s\": three pages (300 + 200 + 100 KB) arrive and one fails",
                       "打印的是 \"%s\"：应有三个页面（300 + 200 + 100 KB）到达，一个失败", line.text)
        end
      end},
      {en = "the pages are fetched at once: done at t=3.0", zh = "页面同时获取：t=3.0 完成", function(r, t)
        local _, line = t.find(r, "fetched")
        if not t.near(line.t, 3) then
          return t.msg("the total comes at t=%s, not 3.0: the fetches still run one after another",
                       "总数在 t=%s 才打印，不是 3.0：获取仍是一个接一个进行的", t.time(line.t))
        end
      end},
    },
  },
}

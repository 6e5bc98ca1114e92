-- Lesson 3: coroutines and await -- a call makes a coroutine object, await
-- runs it inline, a forgotten await and its warning, await at any depth.
return {
  title = {en = "Coroutines and await", zh = "协程与 await"},

  text = {
    en = [[
Calling an async function does not run it. `greet("Ada")` returns a coroutine
object: a call that has not started yet. Its body runs when you `await` it,
right there, inside the task that awaits it, just as a plain call would. So
awaiting one coroutine after another runs them one after another.

`await` is also where the current task may pause: if the thing it awaits has
to wait (a sleep, a socket), the task is suspended and the loop runs others
until it can go on. A coroutine object can be awaited only once.

Forgetting `await` is the classic mistake: the body never runs, nothing
fails, and the work silently does not happen. alua notices a coroutine
object that was never awaited and prints a warning on stderr (marked with !
in the output), naming the function.

Lua's coroutines are stackful, so `await` works at any depth of a running
task: in a plain helper function, through `pcall`, inside an iterator. A
function need not be async just because it awaits something.
]],
    zh = [[
调用 async 函数并不会运行它。`greet("Ada")` 返回一个协程对象：
一次还没开始的调用。函数体要等你 `await` 它时才运行，而且就在 await
它的那个任务里原地运行，和普通函数调用一样。所以一个接一个地 await 协程，
它们就是一个接一个地执行。

`await` 也是当前任务可能暂停的地方：如果等的东西需要时间（睡眠、套接字），
任务就被挂起，事件循环先去运行别的任务，等它能继续了再回来。
一个协程对象只能被 await 一次。

忘写 `await` 是最经典的错误：函数体根本不运行，也不报错，该做的事就这么悄无声息地没做。
alua 会发现从未被 await 的协程对象，在 stderr 上打印一条警告（输出里用 ! 标出），
指出是哪个函数。

Lua 的协程是有栈协程，所以在运行中的任务里，`await` 在任何深度都能用：
普通的辅助函数里、`pcall` 里、迭代器里都行。一个函数不必仅仅因为要 await
就声明成 async。
]],
  },

  example = [[
async function greet(name)
  print("hello, " .. name)
  await asyncio.sleep(1)
  return "greeted " .. name
end

local function greet_twice(name)   --[en] a plain function that awaits --[zh] 会 await 的普通函数
  local first = await greet(name)
  local second = await greet(name)
  return first .. ", then " .. second
end

async function main()
  local c = greet("Ada")            --[en] nothing printed yet --[zh] 还什么都没打印
  print("a coroutine object?", asyncio.iscoroutine(c))
  print(await c)                    --[en] now the body runs, in main's task --[zh] 现在函数体才在 main 的任务里运行
  print(greet_twice("Bob"))
  greet("Cy")                       --[en] no await: the body never runs --[zh] 没有 await：函数体永远不会运行
end

asyncio.run(main)
]],

  output = [[
0.0 a coroutine object?	true
0.0 hello, Ada
1.0 greeted Ada
1.0 hello, Bob
2.0 hello, Bob
3.0 greeted Bob, then greeted Bob
~ ! coroutine 'greet' ...
]],

  exercise = {
    text = {
      en = [[
`main` should save three files, one after another (each save takes a
second), then print "all saved" at t=3.0. Nothing gets saved at all, and
"all saved" comes at t=0.0. Find out why and fix it.
]],
      zh = [[
`main` 应该依次保存三个文件（每次保存要 1 秒），然后在 t=3.0 打印 "all saved"。
可现在一个文件都没保存，"all saved" 在 t=0.0 就打印出来了。找出原因并修好它。
]],
    },

    starter = [[
async function save(name)
  await asyncio.sleep(1)   --[en] writing to the disk --[zh] 写磁盘
  print("saved " .. name)
end

async function main()
  for _, name in ipairs({"notes.txt", "todo.txt", "photo.png"}) do
    save(name)
  end
  print("all saved")
end

asyncio.run(main)
]],

    solution = [[
async function save(name)
  await asyncio.sleep(1)
  print("saved " .. name)
end

async function main()
  for _, name in ipairs({"notes.txt", "todo.txt", "photo.png"}) do
    await save(name)
  end
  print("all saved")
end

asyncio.run(main)
]],

    hints = {
      {
        en = "Read the warning on stderr: calling `save(name)` only makes a coroutine object. What makes its body run?",
        zh = "看看 stderr 上的警告：调用 `save(name)` 只是创建了一个协程对象。怎样才能让函数体运行？",
      },
      {
        en = "Write `await save(name)`: main then waits for each save to finish before the next one starts.",
        zh = "写成 `await save(name)`：这样 main 会等每次保存完成，下一次才开始。",
      },
    },

    checks = {
      {en = "the three files are saved, in order", zh = "三个文件都按顺序保存了", function(r, t)
        local last = 0
        for _, name in ipairs({"notes.txt", "todo.txt", "photo.png"}) do
          local i = t.find(r, "saved " .. name)
          if not i then
            return t.msg("\"saved %s\" is never printed: save(\"%s\") only makes a coroutine object; its body runs when something awaits it",
                         "没有打印 \"saved %s\"：save(\"%s\") 只是创建了协程对象，要 await 它，函数体才会运行",
                         name, name)
          end
          if i < last then
            return t.msg("\"saved %s\" comes out of order", "\"saved %s\" 的顺序不对", name)
          end
          last = i
        end
      end},
      {en = "\"all saved\" comes after them, at t=3.0", zh = "\"all saved\" 在它们之后、t=3.0 打印", function(r, t)
        local i, line = t.find(r, "all saved")
        if not i then return t.msg("\"all saved\" is never printed", "没有打印 \"all saved\"") end
        if i < t.find(r, "saved photo.png") or not t.near(line.t, 3) then
          return t.msg("\"all saved\" comes at t=%s, before the saves are done: main must wait for each one",
                       "\"all saved\" 在 t=%s 就打印了，那时还没保存完：main 得等每次保存结束",
                       t.time(line.t))
        end
      end},
      {en = "no coroutine is left un-awaited", zh = "没有协程被遗忘", function(r, t)
        for _, l in ipairs(r.lines) do
          if l.err and l.text:find("never awaited", 1, true) then
            return t.msg("alua warns: %s", "alua 警告：%s", l.text)
          end
        end
      end},
    },
  },
}

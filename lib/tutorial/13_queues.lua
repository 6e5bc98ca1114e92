-- Lesson 13: queues -- producers and consumers, back-pressure, task_done and
-- join, stopping the consumers.
return {
  title = {en = "Queues: producers and consumers", zh = "队列：生产者与消费者"},

  text = {
    en = [[
A queue connects tasks that produce work with tasks that consume it.
`asyncio.Queue(maxsize)`: `await q:put(x)` adds an item, waiting while the
queue is full; `await q:get()` takes the oldest one, waiting while the queue
is empty. Waiting tasks are served first come, first served.

A bounded queue (`maxsize` above 0) gives back-pressure: a producer that runs
ahead of its consumers is made to wait instead of piling up items.

To know when all the work is done, a consumer calls `q:task_done()` after
finishing each item, and `await q:join()` returns once every item put in has
been marked done.

A consumer usually loops forever on `q:get()`. When the work is over, stop
it: cancel the consumer tasks and wait until they have ended
(`await asyncio.wait(workers)`), or call `q:shutdown()`, after which `get`
raises `QueueShutDown` once the queue is empty. `asyncio.LifoQueue` and
`asyncio.PriorityQueue` hand items out newest first and smallest first.
]],
    zh = [[
队列把生产工作的任务和消费工作的任务连接起来。`asyncio.Queue(maxsize)`：
`await q:put(x)` 放入一项，队列满时等待；`await q:get()` 取出最早放入的一项，
队列空时等待。等待的任务按先来后到的顺序得到服务。

有界队列（`maxsize` 大于 0）带来背压：跑得比消费者快的生产者会被迫等待，
而不是让队列里的东西越堆越多。

想知道工作何时全部完成，消费者每处理完一项就调用 `q:task_done()`，
而 `await q:join()` 会在放入的每一项都被标记完成后返回。

消费者通常在 `q:get()` 上无限循环。工作结束后要让它停下：取消消费者任务，
并等它们真正结束（`await asyncio.wait(workers)`）；或者调用 `q:shutdown()`，
之后队列一空，`get` 就会抛出 `QueueShutDown`。`asyncio.LifoQueue` 和
`asyncio.PriorityQueue` 分别按后进先出和从小到大的顺序交出元素。
]],
  },

  example = [[
async function producer(q)
  for i = 1, 5 do
    await q:put("job " .. i)     --[en] waits while the queue is full --[zh] 队列满时等待
    print("put job " .. i)
  end
end

async function consumer(name, q)
  while true do
    local job = await q:get()   --[en] waits while the queue is empty --[zh] 队列空时等待
    await asyncio.sleep(1)
    print(name .. " did " .. job)
    q:task_done()
  end
end

async function main()
  local q = asyncio.Queue(2)
  local workers = {asyncio.create_task(consumer("w1", q)),
                   asyncio.create_task(consumer("w2", q))}
  await producer(q)
  await q:join()                 --[en] every job is done --[zh] 每项工作都完成了
  for _, w in ipairs(workers) do w:cancel() end
  await asyncio.wait(workers)
  print("all done")
end

asyncio.run(main)
]],

  output = [[
0.0 put job 1
0.0 put job 2
0.0 put job 3
0.0 put job 4
1.0 w1 did job 1
1.0 w2 did job 2
1.0 put job 5
2.0 w1 did job 3
2.0 w2 did job 4
3.0 w1 did job 5
3.0 all done
]],

  exercise = {
    text = {
      en = [[
Six jobs of one second each wait in a queue, and a single worker takes them
one by one: the work ends at t=6.0, and the worker is still waiting on
`q:get()` when `main` returns. Use three workers so that the jobs are done
at t=2.0, then stop the workers so that no task is left pending.
]],
      zh = [[
队列里有六项工作，每项一秒，只有一个 worker 逐个处理：到 t=6.0 才做完，
而且 `main` 返回时 worker 还在 `q:get()` 上等着。改用三个 worker，
让工作在 t=2.0 完成，然后让 worker 停下，不留下任何未完成的任务。
]],
    },

    starter = [[
async function worker(name, q)
  while true do
    local job = await q:get()
    await asyncio.sleep(1)
    print(name .. " finished " .. job)
    q:task_done()
  end
end

async function main()
  local q = asyncio.Queue()
  for i = 1, 6 do q:put_nowait("job" .. i) end
  --[en] TODO: three workers, and stop them when the jobs are done
  --[zh] TODO：三个 worker，工作做完后让它们停下
  asyncio.create_task(worker("w1", q))
  await q:join()
  print("all jobs done")
end

asyncio.run(main)
]],

    solution = [[
async function worker(name, q)
  while true do
    local job = await q:get()
    await asyncio.sleep(1)
    print(name .. " finished " .. job)
    q:task_done()
  end
end

async function main()
  local q = asyncio.Queue()
  for i = 1, 6 do q:put_nowait("job" .. i) end
  local workers = {}
  for i = 1, 3 do
    workers[i] = asyncio.create_task(worker("w" .. i, q))
  end
  await q:join()
  print("all jobs done")
  for _, w in ipairs(workers) do w:cancel() end
  await asyncio.wait(workers)
end

asyncio.run(main)
]],

    hints = {
      {
        en = "Start three workers in a loop and keep their tasks in a list. `q:join()` then returns at t=2.0.",
        zh = "用循环启动三个 worker，并把它们的任务存进一个列表。这样 `q:join()` 会在 t=2.0 返回。",
      },
      {
        en = "After `q:join()`, cancel each worker, then `await asyncio.wait(workers)`: `cancel()` only asks, and a task is still pending until it has handled the request.",
        zh = "`q:join()` 之后，逐个取消 worker，再 `await asyncio.wait(workers)`：`cancel()` 只是提出请求，任务处理完这个请求之前仍是未完成状态。",
      },
    },

    checks = {
      {en = "all six jobs are finished", zh = "六项工作都完成了", function(r, t)
        for i = 1, 6 do
          if not t.find(r, "finished job" .. i) then
            return t.msg("nobody finished job%d", "job%d 没有人完成", i)
          end
        end
      end},
      {en = "three workers share the jobs: done at t=2.0", zh = "三个 worker 分担工作：t=2.0 完成", function(r, t)
        local _, line = t.find(r, "all jobs done")
        if not line then return t.msg("\"all jobs done\" is never printed", "没有打印 \"all jobs done\"") end
        if not t.near(line.t, 2) then
          return t.msg("the jobs are done at t=%s, not 2.0: with three workers, six one-second jobs take two seconds",
                       "工作在 t=%s 才完成，不是 2.0：三个 worker 做六项一秒钟的工作，只需两秒", t.time(line.t))
        end
      end},
      {en = "no task is left pending when main returns", zh = "main 返回时没有遗留未完成的任务", function(r, t)
        if #r.pending > 0 then
          return t.msg("still pending when main returned: %s. Cancel the workers after q:join() and wait for them to end.",
                       "main 返回时这些任务还没结束：%s。在 q:join() 之后取消 worker，并等它们结束。",
                       table.concat(r.pending, ", "))
        end
      end},
    },
  },
}

-- Lesson 16: streams -- an echo server and its client on loopback.
return {
  title = {en = "Streams: a server and a client", zh = "流：服务器与客户端"},

  text = {
    en = [[
Network code is where async shines: a server spends its life waiting for
its clients, and one task per connection costs little.

`await asyncio.start_server(handler, host, port)` listens and, for each
connection, runs `handler(reader, writer)` in a task of its own. Port 0 picks
a free port: `server.sockets[1]:getsockname()` tells which. The server is a
`<close>` value; `server:close()` stops listening and
`await server:wait_closed()` waits until every handler has finished.

`await asyncio.open_connection(host, port)` connects and returns the same
pair. The reader: `await reader:readline()` (the line with its newline, ""
at the end of the stream), `await reader:read(n)`, and
`for line in reader:lines() do ... end`. The writer: `writer:write(data)`
queues data, `await writer:drain()` waits while too much is queued,
`writer:close()` ends the connection.

Sockets do not hold the virtual clock: talking over loopback takes no
virtual time, which is why every line of the example shows t=0.0.
]],
    zh = [[
网络代码是异步大显身手的地方：服务器一辈子都在等客户端，而每个连接一个任务的开销很小。

`await asyncio.start_server(handler, host, port)` 开始监听，并为每个连接在单独的任务里运行
`handler(reader, writer)`。端口填 0 会自动选一个空闲端口，
`server.sockets[1]:getsockname()` 告诉你是哪一个。服务器是一个 `<close>` 值；
`server:close()` 停止监听，`await server:wait_closed()` 等到每个处理函数都结束。

`await asyncio.open_connection(host, port)` 发起连接，返回同样的一对对象。
读端：`await reader:readline()`（一行，带换行符；流结束时返回 ""）、
`await reader:read(n)`，以及 `for line in reader:lines() do ... end`。
写端：`writer:write(data)` 把数据排入发送队列，`await writer:drain()`
在排队的数据太多时等待，`writer:close()` 结束连接。

套接字不占用虚拟时钟：通过回环地址通信不花虚拟时间，所以示例的每一行都显示 t=0.0。
]],
  },

  example = [[
async function echo(reader, writer)   --[en] one task per connection --[zh] 每个连接一个任务
  for line in reader:lines() do
    writer:write("echo: " .. line .. "\n")
    await writer:drain()
  end
  print("server: the client hung up")
end

async function main()
  local server <close> = await asyncio.start_server(echo, "127.0.0.1", 0)
  local host, port = server.sockets[1]:getsockname()
  local reader, writer = await asyncio.open_connection(host, port)
  for _, word in ipairs({"hello", "async", "world"}) do
    writer:write(word .. "\n")
    await writer:drain()
    local reply = await reader:readline()
    print("client got: " .. reply:gsub("\n$", ""))
  end
  writer:close()
  await writer:wait_closed()
  server:close()
  await server:wait_closed()          --[en] the handler has finished --[zh] 处理函数已经结束
  print("server closed")
end

asyncio.run(main)
]],

  output = [[
0.0 client got: echo: hello
0.0 client got: echo: async
0.0 client got: echo: world
0.0 server: the client hung up
0.0 server closed
]],

  exercise = {
    -- a client waiting for an answer that never comes waits on a socket,
    -- which does not move the virtual clock: stop it at t=10
    watchdog = 10,

    text = {
      en = [[
`shout` should answer every line a client sends with the same line in
capitals, until the client hangs up. It answers only the first line: the
second question of each client gets no answer. Fix the handler so that both
clients get both answers ("ann sent bye, got BYE").
]],
      zh = [[
`shout` 应该把客户端发来的每一行都转成大写再发回去，直到客户端挂断。
可它只回答了第一行：每个客户端的第二个问题都得不到回答。修好这个处理函数，
让两个客户端都得到两个回答（"ann sent bye, got BYE"）。
]],
    },

    starter = [[
async function shout(reader, writer)
  --[en] TODO: answer every line, not only the first
  --[zh] TODO：回答每一行，而不只是第一行
  local line = await reader:readline()
  writer:write(line:upper())
  await writer:drain()
end

async function client(name, port, words)
  local reader, writer = await asyncio.open_connection("127.0.0.1", port)
  for _, word in ipairs(words) do
    writer:write(word .. "\n")
    local reply = await reader:readline()
    print(name .. " sent " .. word .. ", got " .. reply:gsub("\n$", ""))
  end
  writer:close()
  await writer:wait_closed()
end

async function main()
  local server <close> = await asyncio.start_server(shout, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  await asyncio.gather(client("ann", port, {"hi", "bye"}),
                       client("bob", port, {"hey", "ho"}))
end

asyncio.run(main)
]],

    solution = [[
async function shout(reader, writer)
  for line in reader:lines("L") do
    writer:write(line:upper())
    await writer:drain()
  end
end

async function client(name, port, words)
  local reader, writer = await asyncio.open_connection("127.0.0.1", port)
  for _, word in ipairs(words) do
    writer:write(word .. "\n")
    local reply = await reader:readline()
    print(name .. " sent " .. word .. ", got " .. reply:gsub("\n$", ""))
  end
  writer:close()
  await writer:wait_closed()
end

async function main()
  local server <close> = await asyncio.start_server(shout, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  await asyncio.gather(client("ann", port, {"hi", "bye"}),
                       client("bob", port, {"hey", "ho"}))
end

asyncio.run(main)
]],

    hints = {
      {
        en = "The handler returns after one line, and returning closes the connection. Loop until the client hangs up: `readline()` returns \"\" then.",
        zh = "处理函数回答一行之后就返回了，而返回会关闭连接。要一直循环到客户端挂断为止：那时 `readline()` 会返回 \"\"。",
      },
      {
        en = "`for line in reader:lines(\"L\") do writer:write(line:upper()) await writer:drain() end` (`\"L\"` keeps each line's newline).",
        zh = "`for line in reader:lines(\"L\") do writer:write(line:upper()) await writer:drain() end`（`\"L\"` 会保留每行末尾的换行符）。",
      },
    },

    checks = {
      {en = "every question gets its answer in capitals", zh = "每个问题都得到大写的回答", function(r, t)
        for _, qa in ipairs({{"ann", "hi"}, {"ann", "bye"}, {"bob", "hey"}, {"bob", "ho"}}) do
          local want = qa[1] .. " sent " .. qa[2] .. ", got " .. qa[2]:upper()
          local _, line = t.find(r, qa[1] .. " sent " .. qa[2] .. ",")
          if not line then
            return t.msg("%s never gets an answer to \"%s\"", "%s 发出的 \"%s\" 始终没得到回答", qa[1], qa[2])
          end
          if line.text ~= want then
            return t.msg("\"%s\": expected \"%s\"", "\"%s\"：应该是 \"%s\"", line.text, want)
          end
        end
      end},
    },
  },
}

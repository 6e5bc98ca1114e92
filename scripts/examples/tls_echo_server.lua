-- A TLS echo server: echo_server.lua with encryption. The handler is the
-- same; only the option tables change.
-- Run it with:  build/alua scripts/examples/tls_echo_server.lua [port [cert key]]
-- Without a certificate it makes a self-signed one for localhost with the
-- openssl command, in a temporary directory. Talk to it from another
-- terminal:  openssl s_client -connect 127.0.0.1:8443 -quiet
-- Ctrl+C stops it. `--demo` instead starts the server on a free port, runs
-- three clients against it (they trust the certificate), and stops.

local demo = arg[1] == "--demo"
local port = demo and 0 or tonumber(arg[1]) or 8443
local cert, key = arg[2], arg[3]

async function handle(reader, writer)
  local peer, pport = writer:get_extra_info("peername")
  print(string.format("%s:%d connected with %s", peer, pport, writer:get_extra_info("tls_version")))
  for line in reader:lines("L") do
    writer:write(line)
    await writer:drain()
  end
  print(string.format("%s:%d left", peer, pport))
end

-- A self-signed certificate for localhost and 127.0.0.1; returns the
-- certificate and key files and a function removing them.
async function self_signed()
  local dir = os.tmpname()
  os.remove(dir)
  local proc = await asyncio.create_subprocess_exec("sh", "-c",
    'mkdir -p "$0" && cd "$0" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \z
     -keyout key.pem -out cert.pem -days 1 -subj /CN=localhost \z
     -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null', dir)
  assert(await proc:wait() == 0, "openssl could not make a certificate")
  return dir .. "/cert.pem", dir .. "/key.pem", function()
    os.remove(dir .. "/cert.pem")
    os.remove(dir .. "/key.pem")
    os.remove(dir)
  end
end

async function client(port, name, ca_file)
  -- ca_file: trust our own certificate (the default is the system's CA store)
  local reader, writer <close> = await asyncio.open_connection("localhost", port, {tls = {ca_file = ca_file}})
  for i = 1, 3 do
    writer:write(string.format("%s says hello #%d\n", name, i))
    io.write("echo: ", await reader:readline())
  end
end

async function main()
  local cleanup = function() end
  if not cert then cert, key, cleanup = await self_signed() end
  local _ <close> = setmetatable({}, {__close = function() cleanup() end})
  local server <close> = await asyncio.start_server(handle, "127.0.0.1", port, {tls = {cert = cert, key = key}})
  local host, bound = server.sockets[1]:getsockname()
  print(string.format("TLS echo server on %s:%d", host, bound))
  if demo then
    await asyncio.gather(client(bound, "ann", cert), client(bound, "bob", cert), client(bound, "cat", cert))
    return
  end
  await server:serve_forever()
end

asyncio.run(main)

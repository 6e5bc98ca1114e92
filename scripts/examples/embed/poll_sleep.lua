-- For poll_host.c: every line of input starts a task that answers 50 ms
-- later. The host sleeps in poll() until the timers are due: a handful of
-- wake-ups, not one per millisecond.
function on_line(line)
  asyncio.create_task(function()
    await asyncio.sleep(0.05)
    print("after 50 ms: " .. line)
  end)
end

function on_eof()
  print("end of input")
end

-- raises(class, fn): runs fn and returns the type of the error it raised
-- (an expected one, of class), or "no error"; any other error, out of
-- memory above all, goes on up. Shared by the sweep's scripts.
return function(class, fn)
  local ok, err = pcall(fn)
  if ok then return "no error" end
  if not asyncio.iserror(err, class) then error(err, 0) end
  return err.type
end

x = await f(
  await g "s" {t}:m(1) ^ -2,
  async function (a) return await a end)
local async function h() end
async function t.a:b(...) end

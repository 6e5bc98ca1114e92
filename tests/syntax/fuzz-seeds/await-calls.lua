x = await(a, b) + await() .. await(f(a, b))
y = await(await(await(x, y), y), {await(1, 2)}, function(a, b) return await(a), b end)
return await(function() local a, b = 1, 2 return a, b end), await(t[f(a, b)])

-- The asyncio error classes (SPEC 2.8). An error is a table with fields
-- `type`, `message` and `traceback`; its metatable is its class, and a class
-- knows its parent, so asyncio.iserror(e, cls) follows the chain.
local M, I = ...

-- by name, as C finds them (made by the module's opener: see runtime.c)
local classes = I.errors

local function describe(e)
  local msg = rawget(e, "message")
  if msg == nil or msg == "" then return e.type end
  return e.type .. ": " .. tostring(msg)
end

-- What every class shares: tostring(cls), and cls(message, fields), which
-- makes a new error of the class.
local function class_tostring(c) return "<class '" .. rawget(c, "type") .. "'>" end

local function new_error(c, message, fields)
  local make = rawget(c, "__make")
  if make then return make(c, message, fields) end
  local name = rawget(c, "type")
  local e = {type = name, message = message == nil and "" or message}
  if fields ~= nil then
    if type(fields) ~= "table" then
      error(I.where() .. string.format("bad argument #2 to '%s' (table of fields expected, got %s)", name,
        type(fields)), 0)
    end
    for k, v in pairs(fields) do e[k] = v end
  end
  return setmetatable(e, c)
end

-- The metatable of the classes whose parent is `parent` (one per parent).
local metas = {}
local function meta_of(parent)
  local key = parent or metas
  local m = metas[key]
  if not m then
    m = {__index = parent, __tostring = class_tostring, __call = new_error}
    metas[key] = m
  end
  return m
end

local function define(name, parent, extra)
  local cls = {
    type = name,
    parent = parent,
    __name = name,
    __tostring = extra and extra.__tostring or describe,
    __make = extra and extra.__call, -- a class's own cls(...), else new_error's
    __index = false,
  }
  cls.__index = cls
  setmetatable(cls, meta_of(parent))
  classes[name] = cls
  M[name] = cls
  return cls
end

-- The classes every program may meet; the others are made on first use
-- (error_classes.lua, through internals.define_error).
define("CancelledError")
define("TimeoutError")
define("InvalidStateError")
define("KeyboardInterrupt")
I.define_error = define

-- asyncio.iserror(v [, cls]): v is an asyncio error (of class cls or a subclass).
function M.iserror(v, cls)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if type(mt) ~= "table" or classes[rawget(mt, "type")] ~= mt then return false end
  if cls == nil then return true end
  if type(cls) ~= "table" or classes[rawget(cls, "type")] ~= cls then
    error("bad argument #2 to 'iserror' (asyncio error class expected, got " .. type(cls) .. ")", 2)
  end
  while mt do
    if mt == cls then return true end
    mt = rawget(mt, "parent")
  end
  return false
end


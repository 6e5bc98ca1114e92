/* Stands first on the include path of the event core and the translator
 * (see meson.build): those layers are plain C and must not use Lua. */
#error "src/core and src/syntax must not include Lua headers (lualib.h)"

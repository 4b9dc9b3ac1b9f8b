// Reading SQL arguments and building results in C++, with the NULL checks the reference
// promises (docs/reference.md, "Installation and conventions"): a NULL where a value is
// needed is an error (22004), never a NULL ID.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pg/bridge.hpp"

namespace seqguard::pg {

inline bool arg_is_null(FunctionCallInfo fcinfo, int n) { return PG_ARGISNULL(n); }

[[noreturn]] inline void null_argument(const char* name) {
  fail(core::sqlstate::null_value_not_allowed, "argument \"" + std::string(name) + "\" must not be null");
}

// The view points into the (detoasted) argument, valid for the rest of the call.
inline std::string_view text_arg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) null_argument(name);
  text* t = pg_call([&] { return PG_GETARG_TEXT_PP(n); });
  return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

inline std::optional<std::string> opt_text_arg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  text* t = pg_call([&] { return PG_GETARG_TEXT_PP(n); });
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

inline int64_t int8_arg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) null_argument(name);
  return PG_GETARG_INT64(n);
}

inline int32_t int4_arg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) null_argument(name);
  return PG_GETARG_INT32(n);
}

inline bool bool_arg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) null_argument(name);
  return PG_GETARG_BOOL(n);
}

inline int32_t date_arg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) null_argument(name);
  return PG_GETARG_DATEADT(n);
}

inline Datum text_result(std::string_view s) {
  return pg_call([&] { return PointerGetDatum(cstring_to_text_with_len(s.data(), (int)s.size())); });
}

}  // namespace seqguard::pg

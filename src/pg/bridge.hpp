// The bridge between PostgreSQL's errors (longjmp) and C++ exceptions.
//
// Two rules keep both worlds intact:
//  * A longjmp must never cross a C++ frame that owns objects with destructors, so
//    every call into PostgreSQL that can raise an error goes through pg_call(), which
//    catches the longjmp right there and turns it into a PgError exception.
//  * An exception must never reach PostgreSQL's C frames, so every extern "C" entry
//    point runs its body in entry_guard(), which catches everything, lets all C++
//    objects die, and only then raises the error the PostgreSQL way, with its SQLSTATE.
#pragma once

#include <exception>
#include <type_traits>

#include "seqguard/core/error.hpp"
#include "pg/pg.hpp"

namespace seqguard::pg {

// A PostgreSQL error caught by pg_call(). It owns a copy of the ErrorData (allocated
// in the memory context that was current at the call) so that entry_guard() can
// re-raise it unchanged: SQLSTATE, detail, hint and context all survive the trip.
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* edata) noexcept : edata_(edata) {}
  const char* what() const noexcept override { return edata_->message ? edata_->message : "PostgreSQL error"; }
  ErrorData* edata() const noexcept { return edata_; }
  int sqlerrcode() const noexcept { return edata_->sqlerrcode; }

 private:
  ErrorData* edata_;
};

[[noreturn]] void throw_pg_error(MemoryContext ctx);

// Runs `f`, which may call PostgreSQL functions that raise errors, and turns such an
// error into a PgError. Only trivially destructible objects may live in `f`'s frames:
// the longjmp skips their destructors.
//
// A C++ exception thrown inside `f` (a nested pg_try that caught an error, a bad_alloc)
// is caught here and rethrown only after PG_END_TRY: leaving the PG_TRY block any other
// way would leave PG_exception_stack pointing into this dead frame, and the next error
// of the backend would longjmp into it and crash the server (found with a lock timeout
// raised while a nested probe waited).
template <typename F>
void pg_try(F&& f) {
  MemoryContext ctx = CurrentMemoryContext;
  bool failed = false;
  std::exception_ptr thrown;
  PG_TRY();
  {
    try {
      f();
    } catch (...) {
      thrown = std::current_exception();
    }
  }
  PG_CATCH();
  {
    failed = true;
  }
  PG_END_TRY();
  if (failed) throw_pg_error(ctx);
  if (thrown) std::rethrow_exception(thrown);
}

template <typename F>
auto pg_call(F&& f) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  if constexpr (std::is_void_v<R>) {
    pg_try(std::forward<F>(f));
  } else {
    static_assert(std::is_trivially_copyable_v<R>, "pg_call results cross a longjmp boundary");
    R result{};
    pg_try([&] { result = f(); });
    return result;
  }
}

// Copies what is needed out of the exception being handled into static storage
// (nothing allocates inside the catch block), and raises it later, once the caller's
// C++ state is gone, the PostgreSQL way and with its SQLSTATE.
void stash_current_exception() noexcept;
[[noreturn]] void raise_stashed_exception();

// Runs the body of an extern "C" SQL function. Everything the body created is
// destroyed before the error (if any) is raised.
template <typename F>
Datum entry_guard(F&& body) noexcept {
  bool failed = false;
  Datum result = 0;
  try {
    result = body();
  } catch (...) {
    failed = true;
    stash_current_exception();
  }
  if (failed) raise_stashed_exception();
  return result;
}

// Throws a core::Error; shorthand used across the PostgreSQL layer.
[[noreturn]] inline void fail(const char* sqlstate, std::string message, std::string detail = {},
                              std::string hint = {}) {
  throw core::Error(sqlstate, std::move(message), std::move(detail), std::move(hint));
}

}  // namespace seqguard::pg

// Declares an extern "C" SQL function whose C++ body is `impl(fcinfo)`.
#define SEQGUARD_FUNCTION(sqlname, impl)                                                 \
  extern "C" {                                                                          \
  PGDLLEXPORT Datum sqlname(PG_FUNCTION_ARGS);                                          \
  PG_FUNCTION_INFO_V1(sqlname);                                                         \
  Datum sqlname(PG_FUNCTION_ARGS) {                                                     \
    return ::seqguard::pg::entry_guard([fcinfo]() -> Datum { return impl(fcinfo); });   \
  }                                                                                     \
  }

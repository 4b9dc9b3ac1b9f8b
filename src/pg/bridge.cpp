#include "pg/bridge.hpp"

#include <cstdio>
#include <cstring>
#include <new>

namespace seqguard::pg {

namespace {

// One pending error per backend is all there can be: it is stashed in a catch block
// and raised right after it, before any other seqguard code runs.
struct Stash {
  ErrorData* pg_error;  // a PostgreSQL error caught by pg_call(): re-raised as is
  int sqlerrcode;
  char message[2048];
  char detail[2048];
  char hint[1024];
};
Stash stash;

void copy_text(char* dst, size_t size, const char* src) noexcept {
  std::snprintf(dst, size, "%s", src ? src : "");
}

int sqlstate_code(const char* s) noexcept {
  if (s == nullptr || std::strlen(s) != 5) return ERRCODE_INTERNAL_ERROR;
  return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

}  // namespace

[[noreturn]] void throw_pg_error(MemoryContext ctx) {
  // The error is still being handled by PostgreSQL: copy it out of ErrorContext, then
  // reset the error state so that the backend is consistent while C++ unwinds.
  MemoryContextSwitchTo(ctx);
  ErrorData* edata = CopyErrorData();
  FlushErrorState();
  throw PgError(edata);
}

void stash_current_exception() noexcept {
  stash.pg_error = nullptr;
  stash.sqlerrcode = ERRCODE_INTERNAL_ERROR;
  stash.detail[0] = stash.hint[0] = '\0';
  try {
    throw;
  } catch (const PgError& e) {
    stash.pg_error = e.edata();
  } catch (const core::Error& e) {
    stash.sqlerrcode = sqlstate_code(e.sqlstate());
    copy_text(stash.message, sizeof stash.message, e.what());
    copy_text(stash.detail, sizeof stash.detail, e.detail().c_str());
    copy_text(stash.hint, sizeof stash.hint, e.hint().c_str());
  } catch (const std::bad_alloc&) {
    stash.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    copy_text(stash.message, sizeof stash.message, "out of memory");
  } catch (const std::exception& e) {
    std::snprintf(stash.message, sizeof stash.message, "unexpected C++ exception in seqguard: %s", e.what());
  } catch (...) {
    copy_text(stash.message, sizeof stash.message, "unexpected C++ exception of unknown type in seqguard");
  }
}

[[noreturn]] void raise_stashed_exception() {
  if (stash.pg_error != nullptr) {
    ErrorData* edata = stash.pg_error;
    stash.pg_error = nullptr;
    ReThrowError(edata);
  }
  ereport(ERROR, (errcode(stash.sqlerrcode), errmsg_internal("%s", stash.message),
                  stash.detail[0] ? errdetail_internal("%s", stash.detail) : 0,
                  stash.hint[0] ? errhint("%s", stash.hint) : 0));
  pg_unreachable();
}

}  // namespace seqguard::pg

#include "pg/locks.hpp"

extern "C" {
#include "utils/inval.h"
}

namespace seqguard::pg {

uint64_t lock_hash(std::string_view a, std::string_view b, std::string_view c) noexcept {
  // FNV-1a over the parts with a separator that cannot occur in text values, so that
  // ("ab", "c") and ("a", "bc") are different counters.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(a);
  mix(b);
  mix(c);
  return h;
}

bool lock_object(LockSpace space, uint64_t hash, LOCKMODE mode) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32)(hash >> 32), (uint32)hash, (uint16)space);
  LockAcquireResult r = pg_call([&] {
    LockAcquireResult acquired = LockAcquire(&tag, mode, false, false);
    // As LockRelationOid does: what the previous holder committed (a new fast counter's
    // sequence, a re-created series) must be visible to catalog lookups from now on,
    // not hidden behind a catalog snapshot taken before we waited.
    if (acquired == LOCKACQUIRE_OK) AcceptInvalidationMessages();
    return acquired;
  });
  return r == LOCKACQUIRE_ALREADY_HELD || r == LOCKACQUIRE_ALREADY_CLEAR;
}

bool try_lock_object(LockSpace space, uint64_t hash, LOCKMODE mode, bool* already_held) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32)(hash >> 32), (uint32)hash, (uint16)space);
  LockAcquireResult r = pg_call([&] { return LockAcquire(&tag, mode, false, true); });
  if (already_held != nullptr)
    *already_held = r == LOCKACQUIRE_ALREADY_HELD || r == LOCKACQUIRE_ALREADY_CLEAR;
  return r != LOCKACQUIRE_NOT_AVAIL;
}

void unlock_object(LockSpace space, uint64_t hash, LOCKMODE mode) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32)(hash >> 32), (uint32)hash, (uint16)space);
  pg_try([&] { LockRelease(&tag, mode, false); });
}

}  // namespace seqguard::pg

// Heavyweight locks on seqguard's logical objects (a series, a counter, a key).
//
// They are advisory locks in a space of their own (field4 below), so they never collide
// with an application's pg_advisory_lock() calls, show up in pg_locks, take part in
// deadlock detection, honour lock_timeout (55P03), are released when a savepoint that
// took them rolls back, and otherwise at transaction end, after the commit is visible.
#pragma once

#include <cstdint>
#include <string_view>

#include "pg/bridge.hpp"

namespace seqguard::pg {

// The view seqguard_waits (sql/install/50_waits.sql) finds series and counter locks in
// pg_locks by these numbers (objsubid) and by lock_hash's keys: change neither without it.
enum class LockSpace : uint16_t {
  series = 0x5301,   // ShareLock to allocate, ExclusiveLock to create/drop
  // ExclusiveLock: creating a counter (its row, or a fast counter's sequence) once. A
  // gapless counter in use is locked through its row, not here.
  counter = 0x5302,
  idem_key = 0x5303, // ExclusiveLock: one writer per idempotency key
  // ExclusiveLock: the place in line for a gapless counter whose row another transaction
  // holds; see lock_counter_row. Not `counter`: the holder takes that one at commit.
  counter_queue = 0x5304,
};

uint64_t lock_hash(std::string_view a, std::string_view b = {}, std::string_view c = {}) noexcept;

// Waits for the lock (transaction scope). Returns true if this transaction already held it.
bool lock_object(LockSpace space, uint64_t hash, LOCKMODE mode);

// Takes the lock only if nobody holds a conflicting one; returns whether it did.
bool try_lock_object(LockSpace space, uint64_t hash, LOCKMODE mode);
// Gives back one hold of a lock this transaction took, before transaction end: what a
// sweep over many objects needs so as not to fill the shared lock table.
void unlock_object(LockSpace space, uint64_t hash, LOCKMODE mode);

}  // namespace seqguard::pg

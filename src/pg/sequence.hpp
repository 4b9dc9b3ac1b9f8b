// Reading and moving PostgreSQL sequences forward, safely while others call nextval().
#pragma once

#include <cstdint>
#include <optional>

#include "pg/spi.hpp"

namespace seqguard::pg {

struct SequenceState {
  int64_t last_value;
  bool is_called;
  int64_t start, increment, min, max;
  // What nextval() would return now (ignoring exhaustion).
  int64_t next_value() const noexcept;
};

// Reads the sequence's state through `spi` (so with its role's privileges).
SequenceState read_sequence(Spi& spi, Oid seq);

struct Advance {
  bool moved;
  int64_t old_next;
  int64_t new_next;
};

// Makes the next nextval() of `seq` return a value strictly past `target` (above it for
// ascending sequences, below it for descending ones). Never moves a sequence backwards:
// the comparison and the setval() happen under an ExclusiveLock on the sequence, which
// conflicts with the RowExclusiveLock every nextval() takes, so no value handed out
// concurrently can be passed over and handed out again. The lock is released at once,
// because setval() itself is not transactional. Raises 2200H (sequence limit) if the
// sequence cannot get past `target`.
Advance advance_sequence(Spi& spi, Oid seq, int64_t target);

}  // namespace seqguard::pg

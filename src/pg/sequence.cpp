#include "pg/sequence.hpp"

extern "C" {
#include "catalog/pg_sequence.h"
#include "commands/sequence.h"
}

namespace seqguard::pg {

int64_t SequenceState::next_value() const noexcept {
  return is_called ? last_value + increment : last_value;
}

SequenceState read_sequence(Spi& spi, Oid seq) {
  SequenceState st{};
  pg_try([&] {
    HeapTuple tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seq));
    if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for sequence %u", seq);
    auto* form = (Form_pg_sequence)GETSTRUCT(tup);
    st.start = form->seqstart;
    st.increment = form->seqincrement;
    st.min = form->seqmin;
    st.max = form->seqmax;
    ReleaseSysCache(tup);
  });
  spi.execute_dynamic("SELECT last_value, is_called FROM " + qualified_name(seq), true);
  st.last_value = spi.get_int8(0, 1).value_or(0);
  st.is_called = spi.get_bool(0, 2).value_or(false);
  return st;
}

Advance advance_sequence(Spi& spi, Oid seq, int64_t target) {
  pg_try([&] { LockRelationOid(seq, ExclusiveLock); });
  SequenceState st = read_sequence(spi, seq);
  Advance result{false, st.next_value(), st.next_value()};
  bool ascending = st.increment > 0;
  bool behind = ascending ? st.next_value() <= target : st.next_value() >= target;
  if (behind) {
    // setval(target, true): the next nextval() returns target + increment.
    pg_try([&] {
      DirectFunctionCall3(setval3_oid, ObjectIdGetDatum(seq), Int64GetDatum(target), BoolGetDatum(true));
    });
    result.moved = true;
    result.new_next = target + st.increment;
  }
  pg_try([&] { UnlockRelationOid(seq, ExclusiveLock); });
  return result;
}

}  // namespace seqguard::pg

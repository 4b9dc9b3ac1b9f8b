// Rows of seqguard's own tables read and written without SQL and without an MVCC
// snapshot (the way PostgreSQL checks unique keys and writes its catalogs).
//
// Counters and idempotency keys are read and written under a lock of their own
// (locks.hpp), and must behave like sequences, not like tables the caller's transaction
// read: an MVCC read would make a REPEATABLE READ caller that waited fail with "could
// not serialize access", and would give a SERIALIZABLE caller predicate locks, so that
// two serializable transactions using *different* counters or keys fail each other.
// Nothing here takes a predicate lock. The price: an SQL reader of these tables at
// REPEATABLE READ may see an older version of a row than the functions do.
#pragma once

#include "pg/bridge.hpp"

extern "C" {
#include "access/skey.h"
#include "catalog/indexing.h"
#include "utils/rel.h"
}

namespace seqguard::pg::direct {

struct Held;

// One of seqguard's tables in schema `seqguard`, locked in `mode` for the rest of the
// transaction, as for any table a statement touched. The relation itself stays open
// between calls until the statement ends (direct.cpp: Held). The constructor checks
// that the columns are the ones this library was built for, and that the primary key
// is on the first `key_natts` of them (in any order).
class Table {
 public:
  Table(const char* name, const char* const* columns, int natts, int key_natts, LOCKMODE mode);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  Relation rel() const;
  Oid pkey() const { return pkey_; }
  Relation index() const;              // the primary key, open
  CatalogIndexState indexes() const;   // every index, open for writes

 private:
  Held* held_ = nullptr;
  Oid pkey_ = InvalidOid;
};

// Installs what closes the tables Table keeps open (executor and utility hooks,
// transaction callbacks). Called from _PG_init before anything else registers.
void register_callbacks();

// How a row is looked up through the primary key.
enum class Probe {
  writer,     // under the object's lock: dirty snapshot, waits for changes in progress
  sweeper,    // like writer, but reports "busy" instead of waiting
  locker,     // like sweeper, but returns a row that another transaction is updating or
              // deleting (the version it changes): the caller locks that version, and
              // waits if it must as for any row lock; "busy" only while a row is inserted
  reader,     // without a lock: the latest committed state (an MVCC snapshot)
  committed,  // without a lock: the latest committed state, no MVCC snapshot, so no
              // predicate lock either (SnapshotSelf)
};
enum class Found { none, row, busy };

// Looks the row up by `keys` (on the primary key's columns). When found, its values are
// copied (varlenas detoasted) into the current memory context.
Found probe(const Table& t, ScanKeyData* keys, int nkeys, Probe how, Datum* values, bool* nulls,
            ItemPointerData* tid);

// Writes a row: over the version at `tid` when given, else as a new row; index entries
// are kept up to date. The change is visible to the rest of the transaction.
// `inserted`, when given, receives where a new row went.
void write(const Table& t, const ItemPointerData* tid, Datum* values, bool* nulls,
           ItemPointerData* inserted = nullptr);

// Inserts a new row unless its primary key may be taken, whether or not a look-up came
// before it: the unique index's own check, made without waiting and without raising
// 23505 (UNIQUE_CHECK_PARTIAL), reports a possible conflict with a row committed or
// being written; then the new row is deleted again and this returns `taken` (look the
// row up). It sees what a look-up can miss: an update that moved the row to another
// page, committed between the look-up's reading of the index and of the table. A row
// inserted and deleted by a transaction makes others that look up its key wait for that
// transaction, as any row it inserted would; an update of the row never checks its
// unchanged key (update_row), so never waits for it. `cannot_check`: the table has an
// index this cannot check (one with expressions or a predicate, added by hand), nothing
// was inserted; insert with write() after a look-up.
enum class Inserted { yes, taken, cannot_check };
Inserted insert_if_new(const Table& t, Datum* values, bool* nulls, ItemPointerData* inserted);

// Locks the row version at `tid` as SELECT ... FOR UPDATE does, waiting (on the
// holder's transaction, with deadlock detection and lock_timeout) for a transaction
// that holds it. Returns `moved` when that version is no longer the row's latest (another
// transaction updated or deleted it meanwhile): look the row up again. The lock lives in
// the row, not in the shared lock table, so a transaction may hold any number of them;
// a savepoint rollback releases the ones it took.
// With `values`, a version updated meanwhile is followed to the row's latest version
// (as SELECT ... FOR UPDATE does in READ COMMITTED), which is locked instead: *tid says
// where it is, and on `yes` `values`/`nulls` hold its columns (copied into the current
// memory context). `moved` then means deleted.
enum class Locked { yes, moved, busy };
// With `wait` false it never sleeps: `busy` when another transaction holds the row.
Locked lock_row(const Table& t, ItemPointerData* tid, bool wait = true, Datum* values = nullptr,
                bool* nulls = nullptr);
// Writes `values` over the row version at `tid` as UPDATE does, waiting (on the holder's
// transaction, with deadlock detection and lock_timeout) while another transaction holds
// it. `yes`: *tid is the new version. `moved`: a committed transaction updated or
// deleted the version meanwhile (or this transaction's current command did): nothing
// written. The key columns must be the version's own: the new version's index entries
// are not checked for uniqueness, as no other row can take the key while this one is
// live, and the check would wait for a transaction that inserted the key and deleted it
// again (insert_if_new), which may be waiting for this one's row: a deadlock.
Locked update_row(const Table& t, ItemPointerData* tid, Datum* values, bool* nulls);
void remove(const Table& t, const ItemPointerData* tid);

}  // namespace seqguard::pg::direct

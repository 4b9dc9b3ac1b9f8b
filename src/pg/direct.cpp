#include "pg/direct.hpp"

#include <cstring>

#include "pg/spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "storage/bufmgr.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "storage/lmgr.h"
#include "utils/datum.h"
}

namespace seqguard::pg::direct {

Table::Table(const char* name, const char* const* columns, int natts, LOCKMODE mode) {
  Oid schema = catalog().schema;
  bool layout_ok = true;
  Relation rel = nullptr;
  Oid pkey = InvalidOid;
  pg_try([&] {
    Oid relid = get_relname_relid(name, schema);
    if (!OidIsValid(relid))
      ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                      errmsg("table seqguard.%s does not exist", name),
                      errhint("Drop and re-create the extension seqguard.")));
    rel = table_open(relid, mode);
    pkey = compat::primary_key_index(rel);
    TupleDesc desc = RelationGetDescr(rel);
    layout_ok = desc->natts == natts && OidIsValid(pkey);
    for (int i = 0; layout_ok && i < natts; i++) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      layout_ok = !att->attisdropped && std::strcmp(NameStr(att->attname), columns[i]) == 0;
    }
  });
  rel_ = rel;
  pkey_ = pkey;
  if (!layout_ok) {
    close();
    fail(core::sqlstate::internal_error,
         std::string("table seqguard.") + name + " does not have the columns this seqguard expects", {},
         "The installed library and the extension's objects differ: ALTER EXTENSION seqguard UPDATE.");
  }
}

Table::~Table() { close(); }

void Table::close() noexcept {
  if (rel_ == nullptr) return;
  Relation rel = rel_;
  rel_ = nullptr;
  MemoryContext ctx = CurrentMemoryContext;
  PG_TRY();
  { table_close(rel, NoLock); }
  PG_CATCH();
  {
    // Only possible while an error is already on its way: the abort cleans up.
    MemoryContextSwitchTo(ctx);
    FlushErrorState();
  }
  PG_END_TRY();
}

Found probe(const Table& t, ScanKeyData* keys, int nkeys, Probe how, Datum* values, bool* nulls,
            ItemPointerData* tid) {
  Relation rel = t.rel();
  Oid pkey = t.pkey();
  Found found = Found::none;
  pg_try([&] {
    for (;;) {
      CHECK_FOR_INTERRUPTS();
      SnapshotData dirty;
      InitDirtySnapshot(dirty);
      Snapshot snap = how == Probe::reader ? RegisterSnapshot(GetLatestSnapshot())
                      : how == Probe::committed ? SnapshotSelf
                                                : &dirty;
      SysScanDesc scan = systable_beginscan(rel, pkey, true, snap, nkeys, keys);
      HeapTuple tup = systable_getnext(scan);
      TransactionId xwait = InvalidTransactionId;
      ItemPointerData wait_tid;
      found = Found::none;
      if (HeapTupleIsValid(tup)) {
        // The dirty snapshot reports the other transaction that is inserting, updating
        // or deleting the version it returned (our own changes report none).
        if (how == Probe::writer || how == Probe::sweeper) xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
        if (TransactionIdIsValid(xwait)) {
          wait_tid = tup->t_self;
        } else {
          TupleDesc desc = RelationGetDescr(rel);
          heap_deform_tuple(tup, desc, values, nulls);
          for (int i = 0; i < desc->natts; i++) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            if (nulls[i] || att->attbyval) continue;
            values[i] = att->attlen == -1 ? PointerGetDatum(PG_DETOAST_DATUM_COPY(values[i]))
                                          : datumCopy(values[i], false, att->attlen);
          }
          *tid = tup->t_self;
          found = Found::row;
        }
      }
      systable_endscan(scan);
      if (how == Probe::reader) UnregisterSnapshot(snap);
      if (!TransactionIdIsValid(xwait)) break;
      if (how == Probe::sweeper) {
        found = Found::busy;
        break;
      }
      XactLockTableWait(xwait, rel, &wait_tid, XLTW_None);
    }
  });
  return found;
}

void write(const Table& t, const ItemPointerData* tid, Datum* values, bool* nulls, ItemPointerData* inserted) {
  Relation rel = t.rel();
  pg_try([&] {
    HeapTuple tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
    if (tid != nullptr) {
      ItemPointerData at = *tid;
      CatalogTupleUpdate(rel, &at, tup);
    } else {
      CatalogTupleInsert(rel, tup);
    }
    if (inserted != nullptr) *inserted = tup->t_self;
    heap_freetuple(tup);
    CommandCounterIncrement();
  });
}

Locked lock_row(const Table& t, const ItemPointerData* tid, bool wait) {
  Relation rel = t.rel();
  Locked locked = Locked::moved;
  pg_try([&] {
    HeapTupleData tuple;
    tuple.t_self = *tid;
    Buffer buffer;
    TM_FailureData tmfd;
    TM_Result r = heap_lock_tuple(rel, &tuple, GetCurrentCommandId(true), LockTupleExclusive,
                                  wait ? LockWaitBlock : LockWaitSkip, false, &buffer, &tmfd);
    ReleaseBuffer(buffer);
    switch (r) {
      case TM_Ok:
      case TM_SelfModified:  // this transaction changed it: it is ours already
        locked = Locked::yes;
        break;
      case TM_Updated:
      case TM_Deleted:
        locked = Locked::moved;
        break;
      case TM_WouldBlock:
        locked = Locked::busy;
        break;
      default:
        elog(ERROR, "unexpected result %d locking a row of %s", (int)r, RelationGetRelationName(rel));
    }
  });
  return locked;
}

void remove(const Table& t, const ItemPointerData* tid) {
  Relation rel = t.rel();
  pg_try([&] {
    ItemPointerData at = *tid;
    CatalogTupleDelete(rel, &at);
    CommandCounterIncrement();
  });
}

}  // namespace seqguard::pg::direct

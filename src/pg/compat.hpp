// Every difference between the PostgreSQL majors seqguard supports, in one place.
//
// seqguard builds from one source against PostgreSQL 15, 16, 17 and 18. Code elsewhere
// calls the wrappers below and never tests PG_VERSION_NUM itself, so that supporting a
// new major means reading its headers against this file and nothing else.
//
// Each wrapper names the major that changed the API and the header that declares it.
// 15, 17 and 18: read in the headers of Debian's postgresql-server-dev-15/17/18, and
// compiled with -Werror and tested in CI (scripts/test). 16, which no Debian release
// carries: every function seqguard calls was compared across the 15, 17 and 18 headers;
// for each one that differs, the upstream change that made the difference dates it:
// in 16 the object_aclcheck/object_ownercheck refactoring (commits c727f511 and
// afbfc029) and the walkers becoming *_impl functions behind typed macros; in 17
// "Support identity columns in partitioned tables"; the rest in 18, whose headers are
// the only ones with the new forms. Everything else is declared alike on 15, 17 and
// 18, and so on 16 between them.
//
// Included by pg/pg.hpp after PostgreSQL's headers; not meant to be included directly.
#pragma once

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#pragma message("PG_CONFIG points at the headers of PostgreSQL " PG_VERSION)
#error "seqguard supports PostgreSQL 15 to 18 (15, 16, 17, 18) only; build with the pg_config of one of those"
#else

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "nodes/execnodes.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/relcache.h"
}

namespace seqguard::pg::compat {

// 16 replaced the per-catalog pg_<kind>_aclcheck / pg_<kind>_ownercheck functions with
// object_aclcheck / object_ownercheck taking the catalog's OID (utils/acl.h).
inline AclResult namespace_aclcheck(Oid nsp, Oid role, AclMode mode) {
#if PG_VERSION_NUM >= 160000
  return object_aclcheck(NamespaceRelationId, nsp, role, mode);
#else
  return pg_namespace_aclcheck(nsp, role, mode);
#endif
}

inline bool class_ownercheck(Oid relid, Oid role) {
#if PG_VERSION_NUM >= 160000
  return object_ownercheck(RelationRelationId, relid, role);
#else
  return pg_class_ownercheck(relid, role);
#endif
}

// 17 made getIdentitySequence take the open relation rather than its OID, so that a
// partition finds the identity sequence of its partitioned parent (catalog/dependency.h):
// 17 is also the first major that allows identity columns on partitioned tables, so on
// 15 and 16 the OID form gives the same answer for every table that can exist there.
inline Oid identity_sequence(Relation rel, AttrNumber attnum, bool missing_ok) {
#if PG_VERSION_NUM >= 170000
  return getIdentitySequence(rel, attnum, missing_ok);
#else
  return getIdentitySequence(RelationGetRelid(rel), attnum, missing_ok);
#endif
}

// 18 records deferrable primary keys in the relcache too, and RelationGetPrimaryKeyIndex
// returns one only when asked (utils/relcache.h). Earlier majors never return a
// deferrable one: false keeps that meaning everywhere.
inline Oid primary_key_index(Relation rel) {
#if PG_VERSION_NUM >= 180000
  return RelationGetPrimaryKeyIndex(rel, false);
#else
  return RelationGetPrimaryKeyIndex(rel);
#endif
}

// 18 added an optional instrumentation argument for EXPLAIN ANALYZE's index counters
// (access/genam.h); seqguard's scans are not part of a plan.
inline IndexScanDesc index_beginscan(Relation heap, Relation index, Snapshot snapshot, int nkeys, int norderbys) {
#if PG_VERSION_NUM >= 180000
  return ::index_beginscan(heap, index, snapshot, nullptr, nkeys, norderbys);
#else
  return ::index_beginscan(heap, index, snapshot, nkeys, norderbys);
#endif
}

// Which indexes an updated row version needs entries in. 16 made heap_update report it
// (TU_UpdateIndexes, access/tableam.h), adding "summarizing indexes only" (BRIN) for a
// HOT update that changed their columns; 15's heap_update reports nothing, and the new
// version then needs entries in every index unless it is heap-only (HOT).
enum class IndexUpdate { none, all, summarizing };
inline TM_Result heap_update_waiting(Relation rel, ItemPointer otid, HeapTuple newtup, TM_FailureData* tmfd,
                                     IndexUpdate* indexes) {
  LockTupleMode mode;
#if PG_VERSION_NUM >= 160000
  TU_UpdateIndexes u = TU_None;
  TM_Result r = ::heap_update(rel, otid, newtup, GetCurrentCommandId(true), InvalidSnapshot, true, tmfd, &mode, &u);
  *indexes = u == TU_All ? IndexUpdate::all : u == TU_Summarizing ? IndexUpdate::summarizing : IndexUpdate::none;
#else
  TM_Result r = ::heap_update(rel, otid, newtup, GetCurrentCommandId(true), InvalidSnapshot, true, tmfd, &mode);
  *indexes = HeapTupleIsHeapOnly(newtup) ? IndexUpdate::none : IndexUpdate::all;
#endif
  return r;
}

// 16 added IndexInfo.ii_Summarizing (nodes/execnodes.h); 15 has no summarizing updates.
inline bool index_is_summarizing(const IndexInfo* info) {
#if PG_VERSION_NUM >= 160000
  return info->ii_Summarizing;
#else
  (void)info;
  return false;
#endif
}

// Not named expression_tree_walker: from 16 on that is a function-like macro.
// 16 typed the walker callback (tree_walker_callback, nodes/nodeFuncs.h) and made
// expression_tree_walker a macro that casts to it; 15 declares the walker as the
// unprototyped bool (*)(), which C++ reads as "no arguments". void (*)() is the type any
// function pointer may pass through without -Wcast-function-type complaining.
using TreeWalker = bool (*)(Node*, void*);
inline bool walk_expression_tree(Node* node, TreeWalker walker, void* context) {
#if PG_VERSION_NUM >= 160000
  return expression_tree_walker_impl(node, walker, context);
#else
  return ::expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(walker)), context);
#endif
}

}  // namespace seqguard::pg::compat

#endif  // supported major

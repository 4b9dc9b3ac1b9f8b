// Where a series' numbers are stored, read from the catalogs.
//
// A gapless counter's position is in seqguard.counters, a fast counter's in its
// sequence; both can be lost while the rows they numbered survive: a data-only restore,
// or a logical-replication cutover (which copies table rows, never sequences). The
// columns below are how a sync finds the numbers that were issued anyway:
//  - the target column a series was created with (target_table, target_column);
//  - a column late-bound to it (seqguard_attach: a constraint trigger calling
//    seqguard.late_bind(series, column, scope_column));
//  - a column whose DEFAULT calls next_formatted_id('series', ...) or
//    seqguard_nextval('series', 'scope', ...) with the series as a constant; the
//    pg_attrdef row depends on the function, so pg_depend finds them without reading
//    every default of the database.
// A partition or inheritance child is covered by the same column of its ancestor, since
// reading the ancestor reads them all (a partition's cloned trigger, and the default a
// partition inherits, would otherwise count twice).
#include "pg/series.hpp"

#include <set>
#include <tuple>

#include "pg/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace seqguard::pg {

namespace {

enum class Stores { number, text, other };

Stores stores(Oid type) {
  return pg_call([&] {
    Oid base = getBaseType(type);
    if (base == INT2OID || base == INT4OID || base == INT8OID || base == NUMERICOID) return Stores::number;
    if (TypeCategory(base) == TYPCATEGORY_STRING) return Stores::text;
    return Stores::other;
  });
}

struct CallSearch {
  Oid formatted;  // next_formatted_id
  Oid number;     // seqguard_nextval
  List* found;    // the FuncExpr nodes calling either
};

// expression_tree_walker callback; runs inside pg_try, so only trivially destructible
// locals and PostgreSQL allocations.
bool find_calls(Node* node, void* context) {
  if (node == nullptr) return false;
  auto* search = static_cast<CallSearch*>(context);
  if (IsA(node, FuncExpr)) {
    auto* f = reinterpret_cast<FuncExpr*>(node);
    if (f->funcid == search->formatted || f->funcid == search->number) search->found = lappend(search->found, f);
  }
  return compat::walk_expression_tree(node, find_calls, context);
}

// The constant text of argument `n` of a call, if it is one.
std::optional<std::string> const_text_arg(FuncExpr* f, int n) {
  char* s = pg_call([&]() -> char* {
    if (list_length(f->args) <= n) return nullptr;
    Node* arg = static_cast<Node*>(list_nth(f->args, n));
    if (!IsA(arg, Const)) return nullptr;
    auto* c = reinterpret_cast<Const*>(arg);
    if (c->constisnull || c->consttype != TEXTOID) return nullptr;
    return TextDatumGetCString(c->constvalue);
  });
  if (s == nullptr) return std::nullopt;
  return std::string(s);
}

std::vector<std::string> split_trigger_args(const std::string& hex) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    char c = (char)std::stoi(hex.substr(i, 2), nullptr, 16);
    if (c == '\0')
      out.emplace_back();
    else
      out.back() += c;
  }
  out.pop_back();  // tgargs ends each argument with a NUL
  return out;
}

}  // namespace

std::map<std::string, std::vector<SeriesColumn>> series_columns() {
  std::map<std::string, std::vector<SeriesColumn>> out;
  std::set<std::tuple<std::string, Oid, std::string>> seen;
  // (series, table, column) of every column found, before folding children.
  std::vector<std::pair<std::string, SeriesColumn>> all;
  auto add = [&](const std::string& series, SeriesColumn c) {
    if (seen.emplace(series, c.table, c.column).second) all.emplace_back(series, std::move(c));
  };

  {
    Spi owner;
    uint64_t n = owner.execute(
        "SELECT name, target_table::pg_catalog.oid, target_column::pg_catalog.text, a.atttypid "
        "FROM seqguard.series s JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid OPERATOR(pg_catalog.=) s.target_table AND a.attname OPERATOR(pg_catalog.=) s.target_column "
        "AND NOT a.attisdropped ORDER BY name",
        {}, Snap::transaction, true);
    for (uint64_t i = 0; i < n; i++) {
      Stores st = stores(*owner.get_oid(i, 4));
      if (st == Stores::other) continue;
      SeriesColumn c{*owner.get_oid(i, 2), *owner.get_text(i, 3), "target"};
      c.number = st == Stores::number;
      add(*owner.get_text(i, 1), std::move(c));
    }
  }

  Spi spi(Role::caller);  // catalogs only: readable by every role
  Oid formatted = InvalidOid, number = InvalidOid, late_bind = InvalidOid;
  {
    uint64_t n = spi.execute(
        "SELECT p.oid, p.proname::pg_catalog.text FROM pg_catalog.pg_extension e "
        "JOIN pg_catalog.pg_depend d ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
        "AND d.refobjid OPERATOR(pg_catalog.=) e.oid "
        "AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass "
        "AND d.deptype OPERATOR(pg_catalog.=) 'e' "
        "JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid "
        "WHERE e.extname OPERATOR(pg_catalog.=) 'seqguard' "
        "AND p.proname OPERATOR(pg_catalog.=) ANY ('{next_formatted_id,seqguard_nextval,late_bind}')",
        {}, Snap::transaction, true);
    for (uint64_t i = 0; i < n; i++) {
      std::string name = *spi.get_text(i, 2);
      Oid oid = *spi.get_oid(i, 1);
      if (name == "next_formatted_id") formatted = oid;
      if (name == "seqguard_nextval") number = oid;
      if (name == "late_bind") late_bind = oid;
    }
  }

  if (late_bind != InvalidOid) {
    // The partitioned table's trigger, not its clones (tgparentid).
    uint64_t n = spi.execute(
        "SELECT t.tgrelid, pg_catalog.encode(t.tgargs, 'hex') FROM pg_catalog.pg_trigger t "
        "WHERE t.tgfoid OPERATOR(pg_catalog.=) $1 AND t.tgparentid OPERATOR(pg_catalog.=) 0 "
        "ORDER BY t.tgrelid, t.tgname",
        {Param{OIDOID, ObjectIdGetDatum(late_bind), false}}, Snap::transaction, true);
    for (uint64_t i = 0; i < n; i++) {
      std::vector<std::string> args = split_trigger_args(spi.get_text(i, 2).value_or(""));
      if (args.size() != 3) continue;
      Oid table = *spi.get_oid(i, 1);
      std::string column = args[1];
      Oid type = pg_call([&] {
        AttrNumber att = get_attnum(table, column.c_str());
        return att > 0 ? get_atttype(table, att) : InvalidOid;
      });
      if (type == InvalidOid) continue;
      Stores st = stores(type);
      if (st == Stores::other) continue;
      SeriesColumn c{table, column, "attached"};
      c.number = st == Stores::number;
      c.scope_column = args[2];
      add(args[0], std::move(c));
    }
  }

  if (formatted != InvalidOid || number != InvalidOid) {
    uint64_t n = spi.execute(
        "SELECT ad.adrelid, a.attname::pg_catalog.text, a.atttypid, ad.adbin::pg_catalog.text "
        "FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_attrdef ad ON ad.oid OPERATOR(pg_catalog.=) d.objid "
        "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) ad.adrelid "
        "AND (c.relkind OPERATOR(pg_catalog.=) 'r' OR c.relkind OPERATOR(pg_catalog.=) 'p') "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) ad.adrelid "
        "AND a.attnum OPERATOR(pg_catalog.=) ad.adnum AND NOT a.attisdropped "
        "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass "
        "AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass "
        "AND (d.refobjid OPERATOR(pg_catalog.=) $1 OR d.refobjid OPERATOR(pg_catalog.=) $2) "
        "ORDER BY ad.adrelid, ad.adnum",
        {Param{OIDOID, ObjectIdGetDatum(formatted), false}, Param{OIDOID, ObjectIdGetDatum(number), false}},
        Snap::transaction, true);
    struct Raw {
      Oid table;
      std::string column;
      Oid type;
      std::string adbin;
    };
    std::vector<Raw> raws;
    for (uint64_t i = 0; i < n; i++)
      raws.push_back(Raw{*spi.get_oid(i, 1), *spi.get_text(i, 2), *spi.get_oid(i, 3), *spi.get_text(i, 4)});
    for (const Raw& r : raws) {
      Stores st = stores(r.type);
      if (st == Stores::other) continue;
      CallSearch search{formatted, number, NIL};
      pg_try([&] {
        Node* expr = static_cast<Node*>(stringToNode(r.adbin.c_str()));
        find_calls(expr, &search);
      });
      int calls = list_length(search.found);
      for (int k = 0; k < calls; k++) {
        auto* f = static_cast<FuncExpr*>(list_nth(search.found, k));
        std::optional<std::string> series = const_text_arg(f, 0);
        if (!series) continue;  // a series chosen per row cannot be told from here
        SeriesColumn c{r.table, r.column, "default"};
        // A formatted ID carries its scope and period; a bare number only the scope
        // it was drawn for, which must then be a constant of the call.
        bool formatted_call = f->funcid == formatted;
        if (st == Stores::number || !formatted_call) {
          std::optional<std::string> scope = list_length(f->args) > 1 ? const_text_arg(f, 1) : std::string();
          if (!scope) continue;
          c.number = true;
          c.scope_value = *scope;
        }
        add(*series, std::move(c));
      }
    }
  }

  // Fold children into ancestors that store the same series in the same column.
  std::multimap<Oid, Oid> parents;
  {
    uint64_t n = spi.execute("SELECT inhrelid, inhparent FROM pg_catalog.pg_inherits", {}, Snap::transaction, true);
    for (uint64_t i = 0; i < n; i++) parents.emplace(*spi.get_oid(i, 1), *spi.get_oid(i, 2));
  }
  for (auto& [series, c] : all) {
    bool covered = false;
    std::vector<Oid> frontier{c.table};
    std::set<Oid> visited;
    while (!frontier.empty() && !covered) {
      Oid cur = frontier.back();
      frontier.pop_back();
      auto [lo, hi] = parents.equal_range(cur);
      for (auto it = lo; it != hi; ++it) {
        if (!visited.insert(it->second).second) continue;
        if (seen.count(std::make_tuple(series, it->second, c.column)) > 0) covered = true;
        frontier.push_back(it->second);
      }
    }
    if (!covered) out[series].push_back(std::move(c));
  }
  return out;
}

}  // namespace seqguard::pg

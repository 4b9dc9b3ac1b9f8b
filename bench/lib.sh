# Helpers of bench/run: running SQL and pgbench, recording measurements, summarising
# them as "median (min..max)" and ratios. Sourced after scripts/lib.sh.

# Progress goes to stderr; stdout is kept for the result tables.
note() { printf '    %s\n' "$*" >&2; }
section() { printf '==> %s\n' "$*" >&2; }

# psql on the benchmark database: unaligned, quiet, stop at the first error.
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }

# Runs one statement as its own transaction and prints the wall time psql measured
# (statement and commit; no connection set-up) in milliseconds.
time_sql() {  # sql [role to run it as]
  local out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$BENCH_DB" -c "SET ROLE ${2:-NONE}" -c '\timing on' -c "$1" 2>&1) \
    || { printf '%s\n' "$out" >&2; return 1; }
  sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -n 1
}

# Runs a pgbench script and sets PGB_TPS, PGB_DONE (transactions processed) and
# PGB_FAILED. pgbench 15 counts serialization failures and deadlocks as "failed
# transactions" without stopping or changing its exit status, so callers must look at
# PGB_FAILED; any other error aborts the client and makes pgbench exit non-zero.
pgbench_run() {  # clients seconds script [more pgbench options]
  local clients=$1 seconds=$2 script=$3 threads
  shift 3
  threads=$(( clients < $(nproc) ? clients : $(nproc) ))
  PGB_OUT=$(pgbench -n -M prepared -c "$clients" -j "$threads" -T "$seconds" -f "$script" "$@" "$BENCH_DB" 2>&1)
  local rc=$?
  PGB_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$PGB_OUT")
  PGB_DONE=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$PGB_OUT")
  PGB_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$PGB_OUT")
  if [ "$rc" -eq 0 ] && { [ -z "$PGB_TPS" ] || [ -z "$PGB_DONE" ]; }; then rc=1; fi
  return "$rc"
}

# Measurements: one "key<TAB>value" line each in $BENCH_DATA.
record() { printf '%s\t%s\n' "$1" "$2" >>"$BENCH_DATA"; }

# Things that went wrong (duplicates, gaps, errors): listed in the report, and bench/run
# exits non-zero.
anomaly() {
  printf '%s\n' "$*" >>"$BENCH_ANOMALIES"
  printf '    ANOMALY: %s\n' "$*" >&2
}

# "median min max count" of a key's values; "- - - 0" when there are none.
stats() {
  awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$BENCH_DATA" | sort -g | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "- - - 0"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      print m, v[1], v[NR], NR
    }'
}
median() { stats "$1" | cut -d' ' -f1; }
fastest() { stats "$1" | cut -d' ' -f2; }
count_of() { stats "$1" | cut -d' ' -f4; }
sum_of() { awk -F'\t' -v k="$1" '$1 == k { s += $2; n++ } END { print n ? s : "-" }' "$BENCH_DATA"; }

# Arithmetic on values that may be "-" (missing): the result is "-" too.
calc() {  # awk-expression-with-a-b a b [printf-format]
  awk -v a="$2" -v b="$3" -v f="${4:-%.2f}" "BEGIN {
    if (a == \"-\" || b == \"-\" || a == \"\" || b == \"\") { print \"-\"; exit }
    printf f, $1 }"
}
# Two decimals, or RATIO_FMT: the targets use unrounded ratios (see shown).
ratio() { awk -v b="${2:-}" 'BEGIN { exit !(b + 0 == 0) }' && { echo -; return; }; calc 'a / b' "$1" "$2" "${RATIO_FMT:-%.2f}"; }

# A target's ratio as the targets table shows it: two decimals, or four where two would
# round it onto the other side of its threshold. The verdict is on the unrounded ratio:
# 16 sessions at 0.8995x one session's rate once printed "0.90x PASS" against 0.9.
shown() {  # ratio [op threshold]
  awk -v a="$1" -v op="${2:-}" -v b="${3:-}" 'BEGIN {
    if (a == "-" || a == "") { print "-"; exit }
    s = sprintf("%.2f", a)
    if (op == "") { print s; exit }
    ok = (op == "<=") ? (a <= b) : (a >= b); sok = (op == "<=") ? (s + 0 <= b) : (s + 0 >= b)
    print (ok == sok) ? s : sprintf("%.4f", a) }'
}

# A target's two cells, "measured | verdict", from one threshold: the ratio as shown()
# prints it, with an "x", and the verdict on its unrounded value.
judged() {  # ratio op threshold
  echo "$(shown "$1" "$2" "$3")x | $(verdict "$1" "$2" "$3")"
}

# A number with sensible precision: 12345, 123.4, 1.234, 0.1234.
num() {
  awk -v x="$1" 'BEGIN {
    if (x == "-" || x == "") { print "-"; exit }
    a = x < 0 ? -x : x
    if (a >= 1000) printf "%.0f", x; else if (a >= 100) printf "%.1f", x;
    else if (a >= 1) printf "%.2f", x; else printf "%.3g", x }'
}

# "median (min..max)" of a key, optionally scaled (e.g. ms -> us per row).
mmm() {  # key [scale]
  local m lo hi n
  read -r m lo hi n < <(stats "$1")
  [ "$n" = 0 ] && { echo "-"; return; }
  local s=${2:-1}
  printf '%s (%s..%s)' "$(num "$(calc 'a * b' "$m" "$s" '%.6g')")" \
    "$(num "$(calc 'a * b' "$lo" "$s" '%.6g')")" "$(num "$(calc 'a * b' "$hi" "$s" '%.6g')")"
}

# The smaller of two numbers; "" (none yet) gives way, "-" (missing) wins.
min_of() {  # a b
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "-" || b == "-") print "-"; else if (a == "") print b; else if (b == "") print a;
    else print (a + 0 <= b + 0) ? a : b }'
}

# PASS when "a op b" holds for two numbers, MISS when not, "n/a" when one is missing.
verdict() {  # a op b
  awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
    if (a == "-" || b == "-" || a == "" || b == "") { print "n/a"; exit }
    ok = (op == "<=") ? (a <= b) : (a >= b)
    print ok ? "PASS" : "MISS" }'
}

# How much CPU other processes took while a run was measured: on a shared machine a
# neighbour's build or test suite makes the figures noisy, and the report says so.
# CPU time is in clock ticks: the machine's (/proc/stat, idle and iowait left out)
# minus the cluster's (the postmaster with its reaped and its live children) minus
# this script's children (pgbench, psql).
_ticks_machine() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# Reads our reaped children's time from "times" output the caller saved: "times" itself
# must run in this shell, since a subshell (a command substitution) starts with none.
_ticks_ours() {  # times-output
  local pm children
  pm=$(head -n 1 "$SEQGUARD_CLUSTER/data/postmaster.pid" 2>/dev/null) || pm=
  children=$(tail -n 1 "$1")
  {
    if [ -n "$pm" ]; then
      # Fields after "(comm)": state is 1, utime 12, stime 13, cutime 14, cstime 15.
      sed 's/.*) //' "/proc/$pm/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }'
      for c in $(ps -o pid= --ppid "$pm" 2>/dev/null); do
        sed 's/.*) //' "/proc/$c/stat" 2>/dev/null | awk '{ print $12 + $13 }'
      done
    fi
    # "times": user and system time of our reaped children, as "1m2.345s 0m0.678s".
    awk -v hz="$(getconf CLK_TCK)" '{
      t = 0
      for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += (p[1] * 60 + p[2]) * hz }
      print t }' <<<"$children"
  } | awk '{ s += $1 } END { printf "%d\n", s }'
}
busy_begin() { times >"$WORK/times"; _B_MACHINE=$(_ticks_machine); _B_OURS=$(_ticks_ours "$WORK/times"); _B_T0=$(date +%s.%N); }
# Sets BUSY to the others' share of the machine in % (empty for runs under 1 s: clock
# ticks are 10 ms, so shorter runs would measure mostly rounding), and records it under
# the key when one is given.
busy_end() {  # [key]
  local m o dt
  times >"$WORK/times"
  m=$(_ticks_machine); o=$(_ticks_ours "$WORK/times")
  dt=$(awk -v a="$(date +%s.%N)" -v b="$_B_T0" 'BEGIN { print a - b }')
  BUSY=
  [ "$(awk -v dt="$dt" 'BEGIN { print (dt >= 1) }')" = 1 ] || return 0
  BUSY=$(awk -v m=$((m - _B_MACHINE)) -v o=$((o - _B_OURS)) -v dt="$dt" -v hz="$(getconf CLK_TCK)" \
    -v n="$(nproc)" 'BEGIN { x = 100 * (m - o) / (dt * hz * n); x = x < 0 ? 0 : x > 100 ? 100 : x; printf "%.0f", x }')
  [ -z "${1:-}" ] || record "$1" "$BUSY"
}
# A pgbench run during which other processes took more than BENCH_BUSY_LIMIT % (default
# 20) of the CPU is measured once more: neighbours come and go in bursts.
too_busy() { [ -n "${BUSY:-}" ] && [ "$BUSY" -gt "${BENCH_BUSY_LIMIT:-20}" ]; }

# Shared by scripts/demo, scripts/test and bench/run: install what is missing, build,
# install the extension, and run a scratch cluster on a private socket and port.
# Sourced, not executed.

SEQGUARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
# Where scripts/debian-root keeps the Debian roots used to test other majors.
SEQGUARD_ROOTS_DIR=${SEQGUARD_ROOTS_DIR:-/var/tmp/seqguard-roots}
PACKAGES="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-client-$PG_MAJOR libfmt-dev libgtest-dev libpq-dev cmake g++ make"

if [ -t 1 ]; then
  log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
else
  log() { printf '==> %s\n' "$*"; }
fi

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# PostgreSQL refuses to run as root: when we are root, the cluster runs as `postgres`.
as_pg() {
  # From / : postgres may not be allowed into the directory we were started from.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

install_packages() {
  local missing=""
  for p in $PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "installing Debian packages:$missing"
    # Debian's server package creates and starts a system cluster on 5432 unless told not to.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
      as_root mkdir -p /etc/postgresql-common
      echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    as_root apt-get update -qq
    # The server package would start a system cluster; we only want its binaries.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
  command -v runuser >/dev/null || as_root apt-get install -y -qq util-linux >/dev/null
}

build_and_install() {
  log "building and installing the extension"
  make -C "$SEQGUARD_ROOT" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" WERROR=1
  as_root make -C "$SEQGUARD_ROOT" -s install PG_CONFIG="$PG_CONFIG"
}

# Starts a scratch cluster and exports PGHOST/PGPORT/PGUSER for psql, pg_regress and
# pgbench. Extra postgresql.conf lines may be passed as arguments.
start_cluster() {
  local bindir
  bindir=$("$PG_CONFIG" --bindir)
  SEQGUARD_CLUSTER=$(mktemp -d /tmp/seqguard-cluster.XXXXXX)
  chmod 755 "$SEQGUARD_CLUSTER"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$SEQGUARD_CLUSTER"
  export PGHOST=$SEQGUARD_CLUSTER PGPORT=${SEQGUARD_PORT:-$((15432 + RANDOM % 20000))} PGUSER=postgres PGDATABASE=postgres
  as_pg "$bindir/initdb" -D "$SEQGUARD_CLUSTER/data" -A trust -U postgres -E UTF8 --no-sync >"$SEQGUARD_CLUSTER/initdb.log" 2>&1 \
    || { cat "$SEQGUARD_CLUSTER/initdb.log"; return 1; }
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$SEQGUARD_CLUSTER'"
    echo "port = $PGPORT"
    echo "max_connections = 200"
    echo "max_prepared_transactions = 4"
    echo "log_line_prefix = '%m [%p] '"
    for line in "$@"; do echo "$line"; done
  } | as_pg tee -a "$SEQGUARD_CLUSTER/data/postgresql.conf" >/dev/null
  as_pg "$bindir/pg_ctl" -D "$SEQGUARD_CLUSTER/data" -l "$SEQGUARD_CLUSTER/server.log" -w -t 60 start >/dev/null \
    || { tail -n 30 "$SEQGUARD_CLUSTER/server.log"; return 1; }
  trap stop_cluster EXIT
}

stop_cluster() {
  [ -n "${SEQGUARD_CLUSTER:-}" ] || return 0
  as_pg "$("$PG_CONFIG" --bindir)/pg_ctl" -D "$SEQGUARD_CLUSTER/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "${SEQGUARD_KEEP_CLUSTER:-}" ] || rm -rf "$SEQGUARD_CLUSTER"
  SEQGUARD_CLUSTER=
}

server_log_tail() {
  [ -n "${SEQGUARD_CLUSTER:-}" ] && tail -n "${1:-40}" "$SEQGUARD_CLUSTER/server.log"
}

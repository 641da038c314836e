# Shell functions the scripts share: root commands, free ports, a throwaway PostgreSQL cluster.
# Sourced by scripts/test, scripts/cluster and scripts/faults (not run on its own).

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root or sudo to run: $*" >&2; return 1; fi
}

pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ] || { [ ! -x /usr/bin/chromedriver ] && [ -z "${YUNYI_CHROMEDRIVER:-}" ]; }; then
    step "installing Chromium and chromedriver from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}

ensure_postgres() {
  if [ -z "$(pg_bindir)" ] || [ ! -x "$(pg_bindir)/initdb" ]; then
    step "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq postgresql >/dev/null
  fi
}

# Waits until a node answers /readyz, or fails showing its log if the process died.
wait_ready() { # url pid log
  for _ in $(seq 1 600); do
    curl -fsS "$1/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; return 1; }
    sleep 0.1
  done
  echo "error: $1 did not become ready" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo 55432
}

PGDIR=""
PGBIN=""
PG_OPTS=""
PG_USER_CMD=()
stop_postgres() {
  if [ -n "$PGDIR" ] && [ -f "$PGDIR/data/postmaster.pid" ]; then
    "${PG_USER_CMD[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$PGDIR" ] && rm -rf "$PGDIR"
  return 0
}
trap stop_postgres EXIT

start_postgres() {
  PGBIN=$(pg_bindir)
  PGDIR=$(mktemp -d /tmp/yunyi-pg.XXXXXX)
  chmod 755 "$PGDIR"
  # initdb refuses to run as root: run the cluster as the postgres user the package creates.
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PGDIR"
    PG_USER_CMD=(runuser -u postgres --)
  else
    PG_USER_CMD=()
  fi
  local port durability
  port=$(free_port)
  # fsync off: a throwaway cluster, where durability costs time and buys nothing — except for
  # the fault tests (PG_DURABLE=1), which show that nothing committed is lost.
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-}" = "1" ] && durability=""
  PG_OPTS="-c listen_addresses=127.0.0.1 -p $port -k $PGDIR $durability -c max_connections=300"
  "${PG_USER_CMD[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
    || { cat "$PGDIR/initdb.log" >&2; return 1; }
  export YUNYI_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  pg_start_again
  echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# (Re)starts the cluster start_postgres made, with the same settings.
pg_start_again() {
  "${PG_USER_CMD[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
    -o "$PG_OPTS" start >/dev/null || { cat "$PGDIR/server.log" >&2; return 1; }
}

# Stops it as a crash would: no checkpoint, recovery from the WAL at the next start.
pg_stop_immediate() {
  "${PG_USER_CMD[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null
}


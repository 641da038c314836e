# Shell functions the scripts share: root commands, free ports, a throwaway PostgreSQL cluster.
# Sourced by scripts/test and scripts/cluster (not run on its own).

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

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo 55432
}

PGDIR=""
PGBIN=""
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
  local port
  port=$(free_port)
  "${PG_USER_CMD[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
    || { cat "$PGDIR/initdb.log" >&2; return 1; }
  # fsync off: a throwaway cluster, where durability costs time and buys nothing.
  "${PG_USER_CMD[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$PGDIR/server.log" >&2; return 1; }
  export YUNYI_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}


# Database servers for the shared-store tests, sourced by scripts/test.sh (needs its apt_install
# helper). Each start_* function installs its Debian package when missing, starts a server of
# its own on a free loopback port with its data under target/stores/, records its PID in
# STORE_PIDS (stop_store_servers stops them by PID) and exports the URL the tests read.
#
# Measured on 2 shared cores (bench/README.md, "Shared-store servers"): installing postgresql and
# mariadb-server (+ redis-sentinel) on first run 34 s; PostgreSQL initdb + start about 3 s,
# MariaDB install-db + start about 5 s.

STORE_PIDS=()

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: run COMMAND until it succeeds, at most SECONDS.
wait_for() {
  local tries=$(($1 * 10))
  shift
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "error: gave up waiting for: $*" >&2
  return 1
}

# as_db_user USER COMMAND...: initdb and mariadbd refuse to run as root; as root, run them as
# the package's own unprivileged user (setpriv execs, so $! is the server's own PID).
as_db_user() {
  local user="$1"
  shift
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
  else
    "$@"
  fi
}

stop_store_servers() {
  local pid
  for pid in "${STORE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${STORE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STORE_PIDS=()
}

start_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install "PostgreSQL is missing; the postgres:// token store is tested against a real server" postgresql
  fi
  local bin dir port
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  dir="$PWD/target/stores/postgres"
  port="$(free_port)"
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  as_db_user postgres "$bin/initdb" -D "$dir/data" -U zoho -A trust --no-sync -E UTF8 >"$dir/initdb.log"
  as_db_user postgres "$bin/postgres" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
    >"$dir/postgres.log" 2>&1 &
  STORE_PIDS+=($!)
  wait_for 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"
  export ZOHO_TEST_POSTGRES_URL="postgres://zoho@127.0.0.1:$port/postgres"
  echo "PostgreSQL on 127.0.0.1:$port (data in $dir)"
}

start_mariadb() {
  if ! command -v mariadbd >/dev/null 2>&1; then
    apt_install "MariaDB is missing; the mysql:// token store is tested against a real server" mariadb-server
  fi
  local dir port user
  dir="$PWD/target/stores/mariadb"
  port="$(free_port)"
  user="$(id -un)"
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    user=mysql
    chown mysql: "$dir"
  fi
  as_db_user "$user" mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1
  as_db_user "$user" mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M --max-connections=300 \
    >"$dir/mariadbd.log" 2>&1 &
  STORE_PIDS+=($!)
  wait_for 60 mariadb --no-defaults --socket="$dir/mysqld.sock" -u root -e "SELECT 1"
  # A user with a password over TCP, as applications connect; the tests check it never shows.
  mariadb --no-defaults --socket="$dir/mysqld.sock" -u root -e "CREATE DATABASE zoho;
    CREATE USER 'zoho'@'127.0.0.1' IDENTIFIED BY 'zoho-test-pw'; GRANT ALL ON zoho.* TO 'zoho'@'127.0.0.1';"
  export ZOHO_TEST_MYSQL_URL="mysql://zoho:zoho-test-pw@127.0.0.1:$port/zoho"
  echo "MariaDB on 127.0.0.1:$port (data in $dir)"
}

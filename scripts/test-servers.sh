# Database servers for the shared-store tests, sourced by scripts/test.sh (needs its apt_install
# helper). Each start_* function installs its Debian package when missing, starts a server of
# its own on a free loopback port with its data under target/stores/, records its PID in
# STORE_PIDS (stop_store_servers stops them by PID) and exports the URL the tests read.
#
# Measured on 2 shared cores (bench/README.md, "Shared-store servers"): installing postgresql,
# mariadb-server and redis-sentinel on a first run 34 s; then PostgreSQL initdb + start 2 s,
# MariaDB install-db + start 3 s, the Redis Cluster 3 s, the Sentinel group 1 s.

STORE_PIDS=()

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A free port P whose cluster bus port P + 10000 is free too (Redis Cluster needs both).
free_cluster_port() {
  python3 -c '
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
print(next(p for p in iter(lambda: random.randint(20000, 55535), 0) if free(p) and free(p + 10000)))'
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

# db_user USER: sets AS_USER to the prefix that runs a command as USER. initdb and mariadbd
# refuse to run as root; as root they run as the package's own unprivileged user. setpriv execs
# the server, so `"${AS_USER[@]}" server &` leaves the server's own PID in $!.
db_user() {
  AS_USER=()
  if [ "$(id -u)" -eq 0 ]; then AS_USER=(setpriv --reuid="$1" --regid="$1" --init-groups --); fi
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
  db_user postgres
  "${AS_USER[@]}" "$bin/initdb" -D "$dir/data" -U zoho -A trust --no-sync -E UTF8 >"$dir/initdb.log"
  "${AS_USER[@]}" "$bin/postgres" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir" \
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
  db_user "$user"
  "${AS_USER[@]}" mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1
  "${AS_USER[@]}" mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" \
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

# redis_node DIR PORT [ARGS...]: one redis-server in the foreground, its data in DIR, recorded
# for stop_store_servers.
redis_node() {
  local dir="$1" port="$2"
  shift 2
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --daemonize no "$@" &
  STORE_PIDS+=($!)
  wait_for 10 redis-cli -h 127.0.0.1 -p "$port" ping
}

# A Redis Cluster of 3 masters with one replica each, so a test can fail a master over.
start_redis_cluster() {
  local dir="$PWD/target/stores/redis-cluster" ports=() port addrs=()
  rm -rf "$dir"
  for _ in 1 2 3 4 5 6; do
    port="$(free_cluster_port)"
    ports+=("$port")
    addrs+=("127.0.0.1:$port")
    redis_node "$dir/$port" "$port" --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
      --cluster-node-timeout 2000
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log"
  cluster_ok() { redis-cli -h 127.0.0.1 -p "${ports[0]}" cluster info | grep -q 'cluster_state:ok'; }
  wait_for 30 cluster_ok
  export ZOHO_TEST_REDIS_CLUSTER_URL="redis+cluster://${addrs[0]},${addrs[1]},${addrs[2]}"
  echo "Redis Cluster on ${addrs[*]}"
}

# A master, its replica and one sentinel watching them (quorum 1), so a test can fail over.
start_redis_sentinel() {
  if ! command -v redis-sentinel >/dev/null 2>&1; then
    apt_install "redis-sentinel is missing; the redis+sentinel:// token store is tested against a real one" \
      redis-sentinel
  fi
  local dir="$PWD/target/stores/redis-sentinel" master replica sentinel
  rm -rf "$dir"
  master="$(free_port)"
  replica="$(free_port)"
  sentinel="$(free_port)"
  redis_node "$dir/master" "$master"
  redis_node "$dir/replica" "$replica" --replicaof 127.0.0.1 "$master"
  mkdir -p "$dir/sentinel"
  printf '%s\n' "bind 127.0.0.1" "port $sentinel" "dir $dir/sentinel" "logfile $dir/sentinel/sentinel.log" \
    "sentinel monitor zoho 127.0.0.1 $master 1" "sentinel down-after-milliseconds zoho 1000" \
    "sentinel failover-timeout zoho 5000" >"$dir/sentinel/sentinel.conf"
  redis-sentinel "$dir/sentinel/sentinel.conf" &
  STORE_PIDS+=($!)
  sentinel_ok() { redis-cli -h 127.0.0.1 -p "$sentinel" sentinel get-master-addr-by-name zoho | grep -q "$master"; }
  wait_for 10 sentinel_ok
  export ZOHO_TEST_REDIS_SENTINEL_URL="redis+sentinel://127.0.0.1:$sentinel/zoho"
  echo "Redis Sentinel on 127.0.0.1:$sentinel (master 127.0.0.1:$master, replica 127.0.0.1:$replica)"
}

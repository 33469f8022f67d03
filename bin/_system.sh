# Sourced by bin/run and bin/test: the Debian packages and local services they rely on, installed,
# started and opened to the `postgres` role when missing; where everything is present (a developer
# machine set up before, CI) nothing is touched. Set SYSTEM_NAME (shown in messages) first.
#
#   system_need CHECK:PACKAGE ...  apt-get install the packages whose CHECK fails: a command name,
#                                  or `venv` (Python's venv module) or `postgres-server` (initdb)
#   system_services                PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 running,
#                                  and the postgres role able to log in over 127.0.0.1
#   system_report                  one line: what was done (or that nothing was)
#
# Root is needed only to install or to start something: as root it runs directly, otherwise
# through sudo; with neither it stops and says what to run.

SYSTEM_DID=()
PG_LOCAL="127.0.0.1"
PG_PORT=5432
REDIS_PORT=6379

system_log() { printf '%s: %s\n' "${SYSTEM_NAME:-bin}" "$*" >&2; }
system_die() { system_log "error: $*"; exit 1; }

# A command as root: directly, or through sudo, or a clear stop.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    system_die "'$*' needs root: run ${SYSTEM_NAME:-this} as root, or install sudo, or run that yourself"
  fi
}

# A command as the postgres OS user (it may administer the cluster over the Unix socket).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  elif command -v sudo >/dev/null 2>&1; then
    (cd / && sudo -u postgres "$@")
  else
    system_die "'$*' needs the postgres OS user: run ${SYSTEM_NAME:-this} as root, or install sudo"
  fi
}

system_has() {
  case "$1" in
    venv) python3 -c 'import ensurepip, venv' >/dev/null 2>&1 ;;
    postgres-server) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && command -v pg_ctlcluster >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
  esac
}

system_need() {
  local pair missing=()
  command -v python3 >/dev/null 2>&1 || system_die "python3 is missing: install Python 3.11 or later (apt-get install python3)"
  for pair in "$@"; do
    system_has "${pair%%:*}" || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 \
    || system_die "missing ${missing[*]} and there is no apt-get: install them with this system's package manager"
  system_log "installing ${missing[*]} with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for pair in "$@"; do
    system_has "${pair%%:*}" || system_die "apt-get installed ${pair#*:}, yet ${pair%%:*} is still missing"
  done
  SYSTEM_DID+=("installed ${missing[*]}")
}

pg_login() { psql "postgres://postgres@$PG_LOCAL:$PG_PORT/postgres" -XtAqc 'SELECT 1' >/dev/null 2>&1; }

system_services() {
  local version
  if ! pg_isready -q -h "$PG_LOCAL" -p "$PG_PORT"; then
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$version" ]; then  # the server package is there but its cluster was never created
      version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
      as_root pg_createcluster "$version" main >/dev/null
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 50); do pg_isready -q -h "$PG_LOCAL" -p "$PG_PORT" && break; sleep 0.2; done
    pg_isready -q -h "$PG_LOCAL" -p "$PG_PORT" || system_die "PostgreSQL $version/main did not start on port $PG_PORT"
    SYSTEM_DID+=("started PostgreSQL $version/main")
  fi
  system_pg_role
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    # A process of this user, like the test servers (no root needed); without persistence: the
    # tests flush it anyway.
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
    SYSTEM_DID+=("started Redis on 127.0.0.1:$REDIS_PORT")
  fi
}

# The suite connects as `postgres` over 127.0.0.1 without a password in its URLs. Debian's default
# pg_hba.conf asks a password there (scram-sha-256) and the role has none, so nobody can log in.
# Rather than trust on 127.0.0.1 (every local account and process would be a superuser without a
# password), the role gets a generated password kept in data/pgpass (mode 600, git-ignored), which
# libpq reads through PGPASSFILE: only this developer's account can read it, and pg_hba.conf stays
# as the distribution wrote it. A role that already has a password is left alone.
system_pg_role() {
  local pass_file="$PWD/data/pgpass" has_password password
  if [ -z "${PGPASSFILE:-}" ] && [ -f "$pass_file" ]; then
    export PGPASSFILE="$pass_file"
  fi
  pg_login && return 0
  has_password="$(as_postgres psql -p "$PG_PORT" -XtAqc "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'postgres'")" \
    || system_die "cannot reach PostgreSQL as the postgres OS user to let the postgres role in"
  [ "$has_password" = "t" ] && system_die "the postgres role has a password: put it in $pass_file as" \
    "'$PG_LOCAL:$PG_PORT:*:postgres:PASSWORD' (chmod 600), or set DATABASE_URL and IM_MESSAGE_SHARDS"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
  mkdir -p data
  (umask 077 && printf '%s:%s:*:postgres:%s\n' "$PG_LOCAL" "$PG_PORT" "$password" >"$pass_file")
  # On stdin, so that the password never shows in a process list.
  printf "ALTER ROLE postgres PASSWORD '%s';\n" "$password" | as_postgres psql -p "$PG_PORT" -XqA -f - >/dev/null
  export PGPASSFILE="$pass_file"
  pg_login || system_die "the postgres role still cannot log in over $PG_LOCAL:$PG_PORT (see pg_hba.conf)"
  SYSTEM_DID+=("gave the postgres role a generated password, kept in data/pgpass")
}

system_report() {
  local line
  if [ ${#SYSTEM_DID[@]} -eq 0 ]; then
    system_log "every package and service was already there; nothing installed or started"
  else
    line="$(printf '%s; ' "${SYSTEM_DID[@]}")"
    system_log "${line%; }"
  fi
}

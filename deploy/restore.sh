#!/usr/bin/env bash
# Restore an OpticaApp backup made by deploy/backup.sh.
#
# The database is restored into an EMPTY database only (create it first: createdb -O opticaapp
# opticaapp); a database that already holds tables is refused, so a restore never mixes two
# states or overwrites live data. The restore runs in one transaction: it applies fully or not at
# all. The bridge's store and the media files are copied into empty (or missing) folders; stop the
# processes first.
#
# Usage: deploy/restore.sh [options] BACKUP
#   BACKUP              a backup folder (…/daily/opticaapp-<timestamp>), or "latest" for the newest
#                       one under $BACKUP_DIR/daily
#   --env-file FILE     read variables from FILE; the environment wins
#   --database-url URL  the empty target database           (DATABASE_URL)
#   --bridge-dir DIR    where to put the bridge's store     (BRIDGE_DATA_DIR)
#   --dir DIR           backup root, for "latest"           (BACKUP_DIR, default /var/backups/opticaapp)
#   --no-database       restore only the bridge's store
#   --no-bridge         do not restore the bridge's store
#   --media-dir DIR     where to put the media files        (MEDIA_ROOT)
#   --no-media          do not restore the media files
# PG_BIN: folder of pg_restore/psql; detected to match the target server's major version.
set -euo pipefail
umask 077

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

no_db=0 no_bridge=0 no_media=0 backup=""
while (($#)); do
  case "$1" in
    --env-file) load_env_file "${2:?--env-file needs a file}"; shift 2 ;;
    --database-url) DATABASE_URL="${2:?}"; shift 2 ;;
    --bridge-dir) BRIDGE_DATA_DIR="${2:?}"; shift 2 ;;
    --dir) BACKUP_DIR="${2:?}"; shift 2 ;;
    --no-database) no_db=1; shift ;;
    --no-bridge) no_bridge=1; shift ;;
    --media-dir) MEDIA_ROOT="${2:?}"; shift 2 ;;
    --no-media) no_media=1; shift ;;
    -h | --help) usage 0 ;;
    -*) log "unknown option $1"; usage ;;
    *) [[ -z "$backup" ]] || usage; backup="$1"; shift ;;
  esac
done
[[ -n "$backup" ]] || usage

if [[ "$backup" == latest ]]; then
  BACKUP_DIR="${BACKUP_DIR:-/var/backups/opticaapp}"
  backup="$(find "$BACKUP_DIR/daily" -mindepth 1 -maxdepth 1 -type d -name 'opticaapp-*' 2>/dev/null | sort | tail -n1)"
  [[ -n "$backup" ]] || die "no backup under $BACKUP_DIR/daily"
fi
[[ -d "$backup" ]] || die "$backup is not a backup folder"
backup="$(cd "$backup" && pwd)"
log "restoring from $backup"

if [[ -f "$backup/SHA256SUMS" ]]; then
  (cd "$backup" && sha256sum --quiet --check SHA256SUMS) || die "$backup is damaged: checksums do not match"
fi

if ((no_db == 0)); then
  : "${DATABASE_URL:?DATABASE_URL (or --database-url) names the empty target database}"
  [[ -f "$backup/db.dump" ]] || die "$backup has no db.dump"
  set_db_url "$DATABASE_URL"
  find_pg_bin "$db_url"
  # Tables, views and sequences of our own (not of an extension) make a database non-empty.
  objects="$("$PG_BIN/psql" "$db_url" -XAtq -v ON_ERROR_STOP=1 -c "
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')")"
  if [[ "$objects" != 0 ]]; then
    die "the database $(redact_url "$db_url") is not empty ($objects tables, views or sequences); restore only into a new, empty database"
  fi
  # pg_restore reads archives of its own major version or older only.
  dump_major="$(sed -nE 's/^pg_dump=.* ([0-9]+)(\.[0-9]+)*.*/\1/p' "$backup/MANIFEST" 2>/dev/null | head -n1)"
  restore_major="$(_pg_major_of "$PG_BIN/pg_restore")"
  if [[ -n "$dump_major" && -n "$restore_major" ]] && ((dump_major > restore_major)); then
    die "this backup was made with PostgreSQL $dump_major tools; restore it into a PostgreSQL $dump_major (or newer) server, not $restore_major"
  fi
  log "restoring the database into $(redact_url "$db_url") with $PG_BIN/pg_restore"
  "$PG_BIN/pg_restore" --dbname="$db_url" --no-password --single-transaction --exit-on-error \
    --no-owner --no-privileges "$backup/db.dump"
  PGOPTIONS="-c client_min_messages=error" "$PG_BIN/psql" "$db_url" -XAtq -v ON_ERROR_STOP=1 -c 'ANALYZE' >/dev/null
  log "database restored"
fi

if ((no_bridge == 0)) && [[ -d "$backup/bridge" ]]; then
  : "${BRIDGE_DATA_DIR:?BRIDGE_DATA_DIR (or --bridge-dir) names where the bridge store goes}"
  # Relative to the checkout, as for the bridge itself.
  [[ "$BRIDGE_DATA_DIR" == /* ]] || BRIDGE_DATA_DIR="$OPTICAAPP_ROOT/$BRIDGE_DATA_DIR"
  if [[ -d "$BRIDGE_DATA_DIR" ]] && [[ -n "$(ls -A "$BRIDGE_DATA_DIR")" ]]; then
    die "$BRIDGE_DATA_DIR is not empty; stop the bridge and move it aside first"
  fi
  mkdir -p "$BRIDGE_DATA_DIR"
  cp -a "$backup/bridge/." "$BRIDGE_DATA_DIR/"
  log "bridge store restored into $BRIDGE_DATA_DIR"
fi

if ((no_media == 0)) && [[ -d "$backup/media" ]]; then
  : "${MEDIA_ROOT:?MEDIA_ROOT (or --media-dir) names where the media files go}"
  [[ "$MEDIA_ROOT" == /* ]] || MEDIA_ROOT="$OPTICAAPP_ROOT/$MEDIA_ROOT"
  if [[ -d "$MEDIA_ROOT" ]] && [[ -n "$(ls -A "$MEDIA_ROOT")" ]]; then
    die "$MEDIA_ROOT is not empty; stop the processes and move it aside first"
  fi
  mkdir -p "$MEDIA_ROOT"
  cp -a "$backup/media/." "$MEDIA_ROOT/"
  log "media files restored into $MEDIA_ROOT"
fi

log "restore complete"

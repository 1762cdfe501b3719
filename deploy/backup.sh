#!/usr/bin/env bash
# Back up OpticaApp: the PostgreSQL database (pg_dump custom format), the WhatsApp bridge's
# store (every SQLite file of BRIDGE_DATA_DIR, copied with SQLite's online backup) and the files
# sent and received by WhatsApp (MEDIA_ROOT), into
#
#   $BACKUP_DIR/daily/opticaapp-<UTC timestamp>/{db.dump, bridge/, media/, MANIFEST, SHA256SUMS}
#   $BACKUP_DIR/weekly/opticaapp-<ISO week>/     (the first backup of each ISO week, hard-linked)
#
# keeping the newest N daily and M weekly copies, then mirrors $BACKUP_DIR to a remote path.
# A backup is written under a temporary name and renamed when complete: a crash never leaves a
# half backup that looks whole. Safe to run while the application runs (cron, systemd timer).
#
# Usage: deploy/backup.sh [options]
#   --env-file FILE     read variables from FILE (e.g. /srv/opticaapp/.env); the environment wins
#   --dir DIR           backup root                        (BACKUP_DIR, default /var/backups/opticaapp)
#   --keep-daily N      daily copies kept                  (BACKUP_KEEP_DAILY, default 7)
#   --keep-weekly M     weekly copies kept                 (BACKUP_KEEP_WEEKLY, default 4)
#   --remote TARGET     rsync target mirrored after each run, e.g. backup@host:/srv/backups/optica
#                       or /mnt/offsite/optica             (BACKUP_REMOTE, default none)
#   --bridge-dir DIR    the bridge's store                 (BRIDGE_DATA_DIR; skipped when unset)
#   --no-bridge         do not back up the bridge's store
#   --media-dir DIR     Django's files                     (MEDIA_ROOT; skipped when unset)
#   --no-media          do not back up Django's files
# Also read: DATABASE_URL (required), PG_BIN (folder of pg_dump/psql; detected to match the
# server's major version when unset), BACKUP_NOW (a `date -d` time used instead of now, for tests).
# Prints the path of the new backup on stdout.
set -euo pipefail
umask 077

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

no_bridge=0 no_media=0
while (($#)); do
  case "$1" in
    --env-file) load_env_file "${2:?--env-file needs a file}"; shift 2 ;;
    --dir) BACKUP_DIR="${2:?}"; shift 2 ;;
    --keep-daily) BACKUP_KEEP_DAILY="${2:?}"; shift 2 ;;
    --keep-weekly) BACKUP_KEEP_WEEKLY="${2:?}"; shift 2 ;;
    --remote) BACKUP_REMOTE="${2:?}"; shift 2 ;;
    --bridge-dir) BRIDGE_DATA_DIR="${2:?}"; shift 2 ;;
    --no-bridge) no_bridge=1; shift ;;
    --media-dir) MEDIA_ROOT="${2:?}"; shift 2 ;;
    --no-media) no_media=1; shift ;;
    -h | --help) usage 0 ;;
    *) log "unknown option $1"; usage ;;
  esac
done

: "${DATABASE_URL:?DATABASE_URL is required (or --env-file)}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/opticaapp}"
BACKUP_KEEP_DAILY="${BACKUP_KEEP_DAILY:-7}"
BACKUP_KEEP_WEEKLY="${BACKUP_KEEP_WEEKLY:-4}"
BACKUP_REMOTE="${BACKUP_REMOTE:-}"
[[ "$BACKUP_KEEP_DAILY" =~ ^[1-9][0-9]*$ ]] || die "--keep-daily must be 1 or more"
[[ "$BACKUP_KEEP_WEEKLY" =~ ^[0-9]+$ ]] || die "--keep-weekly must be 0 or more"

set_db_url "$DATABASE_URL"
find_pg_bin "$db_url"

now="${BACKUP_NOW:-now}"
stamp="$(date -u -d "$now" +%Y%m%dT%H%M%SZ)"
week="$(date -u -d "$now" +%G-W%V)"
name="opticaapp-$stamp"

mkdir -p "$BACKUP_DIR/daily" "$BACKUP_DIR/weekly"
# One backup at a time (a slow dump and the next cron run must not interleave).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BACKUP_DIR/.lock"
  flock -n 9 || die "another backup is running (lock $BACKUP_DIR/.lock)"
fi

final="$BACKUP_DIR/daily/$name"
[[ -e "$final" ]] && die "$final already exists"
work="$BACKUP_DIR/daily/.partial-$name"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

log "dumping $(redact_url "$db_url") with $PG_BIN/pg_dump"
"$PG_BIN/pg_dump" --dbname="$db_url" --format=custom --compress=6 --no-password --file="$work/db.dump"
# A dump pg_restore cannot list is no backup.
"$PG_BIN/pg_restore" --list "$work/db.dump" >/dev/null

bridge_files=0
# A relative BRIDGE_DATA_DIR (var/bridge in .env.example) is relative to the checkout, as for the bridge.
if [[ -n "${BRIDGE_DATA_DIR:-}" && "$BRIDGE_DATA_DIR" != /* ]]; then
  BRIDGE_DATA_DIR="$OPTICAAPP_ROOT/$BRIDGE_DATA_DIR"
fi
if ((no_bridge == 0)) && [[ -n "${BRIDGE_DATA_DIR:-}" ]]; then
  if [[ -d "$BRIDGE_DATA_DIR" ]]; then
    log "copying the bridge store $BRIDGE_DATA_DIR"
    mkdir -p "$work/bridge"
    while IFS= read -r -d '' file; do
      rel="${file#"$BRIDGE_DATA_DIR"/}"
      case "$rel" in *-wal | *-shm | *-journal) continue ;; esac
      mkdir -p "$work/bridge/$(dirname "$rel")"
      if is_sqlite_file "$file"; then
        sqlite_backup "$file" "$work/bridge/$rel"
      else
        cp -p "$file" "$work/bridge/$rel"
      fi
      bridge_files=$((bridge_files + 1))
    done < <(find "$BRIDGE_DATA_DIR" -type f -print0 | sort -z)
  else
    log "warning: BRIDGE_DATA_DIR $BRIDGE_DATA_DIR does not exist; bridge store skipped"
  fi
fi

media_files=0
if [[ -n "${MEDIA_ROOT:-}" && "$MEDIA_ROOT" != /* ]]; then
  MEDIA_ROOT="$OPTICAAPP_ROOT/$MEDIA_ROOT"
fi
if ((no_media == 0)) && [[ -n "${MEDIA_ROOT:-}" ]]; then
  if [[ -d "$MEDIA_ROOT" ]]; then
    # Files are written once under a random name and never changed: a plain copy is consistent.
    log "copying the media files $MEDIA_ROOT"
    mkdir -p "$work/media"
    cp -a "$MEDIA_ROOT/." "$work/media/"
    media_files="$(find "$work/media" -type f | wc -l)"
  else
    log "warning: MEDIA_ROOT $MEDIA_ROOT does not exist; media files skipped"
  fi
fi

{
  echo "created=$(date -u -d "$now" +%Y-%m-%dT%H:%M:%SZ)"
  echo "host=$(hostname)"
  echo "database=$(redact_url "$db_url")"
  echo "server_version=$("$PG_BIN/psql" "$db_url" -XAtqc 'SHOW server_version')"
  echo "pg_dump=$("$PG_BIN/pg_dump" --version)"
  echo "bridge_files=$bridge_files"
  echo "media_files=$media_files"
  if git -C "$OPTICAAPP_ROOT" rev-parse HEAD >/dev/null 2>&1; then
    echo "app_commit=$(git -C "$OPTICAAPP_ROOT" rev-parse HEAD)"
  fi
} >"$work/MANIFEST"
sums="$(cd "$work" && find . -type f -print0 | sort -z | xargs -0 sha256sum)"
printf '%s\n' "$sums" >"$work/SHA256SUMS"

mv "$work" "$final"
trap - EXIT
log "backup written to $final"

# The first backup of each ISO week is also kept as that week's copy (hard links: no extra space).
if ((BACKUP_KEEP_WEEKLY > 0)) && [[ ! -e "$BACKUP_DIR/weekly/opticaapp-$week" ]]; then
  cp -al "$final" "$BACKUP_DIR/weekly/opticaapp-$week"
  log "weekly copy opticaapp-$week"
fi

prune() {  # keep the newest $2 entries of folder $1 (names sort by time)
  local dir="$1" keep="$2" old
  while IFS= read -r old; do
    [[ -n "$old" ]] || continue
    rm -rf "${dir:?}/$old"
    log "removed old backup $dir/$old"
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'opticaapp-*' -printf '%f\n' | sort -r | tail -n +"$((keep + 1))")
}
prune "$BACKUP_DIR/daily" "$BACKUP_KEEP_DAILY"
prune "$BACKUP_DIR/weekly" "$BACKUP_KEEP_WEEKLY"

if [[ -n "$BACKUP_REMOTE" ]]; then
  log "mirroring $BACKUP_DIR to $BACKUP_REMOTE"
  if command -v rsync >/dev/null 2>&1; then
    rsync -a -H --delete --exclude '.lock' --exclude '.partial-*' "$BACKUP_DIR/" "$BACKUP_REMOTE/"
  elif [[ "$BACKUP_REMOTE" != *:* ]]; then
    mkdir -p "$BACKUP_REMOTE"
    cp -a "$BACKUP_DIR/daily" "$BACKUP_DIR/weekly" "$BACKUP_REMOTE/"
  else
    die "rsync is required to copy to $BACKUP_REMOTE"
  fi
fi

printf '%s\n' "$final"

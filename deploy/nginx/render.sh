#!/usr/bin/env bash
# Render OpticaApp's nginx site to stdout.
#
# Usage: deploy/nginx/render.sh --domain clinica.example.com [options] > /etc/nginx/sites-available/opticaapp
#   --domain NAME        public host name (required; several separated by spaces, quoted)
#   --app-root DIR       the checkout; static files are read from DIR/staticfiles (default: this checkout)
#   --static-root DIR    collectstatic's folder (STATIC_ROOT), overrides --app-root
#   --upstream HOST:PORT gunicorn (default 127.0.0.1:8000, as GUNICORN_BIND)
#   --bridge HOST:PORT   the WhatsApp bridge, for Meta's webhook only (default 127.0.0.1:3000, as BRIDGE_PORT)
#   --cert FILE          TLS certificate chain (default /etc/letsencrypt/live/<first domain>/fullchain.pem)
#   --cert-key FILE      its private key        (default /etc/letsencrypt/live/<first domain>/privkey.pem)
#   --acme-root DIR      webroot for certbot's HTTP challenge (default /var/www/letsencrypt)
#   --log-dir DIR        access and error logs (default /var/log/nginx)
#   --max-body SIZE      largest request body nginx accepts (default 10m)
#   --bootstrap          only the HTTP challenge, for the first certificate
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
domain="" app_root="$(cd "$here/../.." && pwd)" static_root="" upstream="127.0.0.1:8000" bridge="127.0.0.1:3000"
cert="" cert_key="" acme_root="/var/www/letsencrypt" max_body="10m" log_dir="/var/log/nginx" template="$here/opticaapp.conf.template"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while (($#)); do
  case "$1" in
    --domain) domain="${2:?}"; shift 2 ;;
    --app-root) app_root="${2:?}"; shift 2 ;;
    --static-root) static_root="${2:?}"; shift 2 ;;
    --upstream) upstream="${2:?}"; shift 2 ;;
    --bridge) bridge="${2:?}"; shift 2 ;;
    --cert) cert="${2:?}"; shift 2 ;;
    --cert-key) cert_key="${2:?}"; shift 2 ;;
    --acme-root) acme_root="${2:?}"; shift 2 ;;
    --max-body) max_body="${2:?}"; shift 2 ;;
    --log-dir) log_dir="${2:?}"; shift 2 ;;
    --bootstrap) template="$here/opticaapp-bootstrap.conf.template"; shift ;;
    -h | --help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage ;;
  esac
done

[[ -n "$domain" ]] || usage
[[ "$domain" =~ ^[A-Za-z0-9.\ -]+$ ]] || { echo "--domain: host names only" >&2; exit 2; }
[[ "$upstream" =~ ^[A-Za-z0-9._:-]+$ || "$upstream" == unix:/* ]] || { echo "--upstream: host:port" >&2; exit 2; }
[[ "$bridge" =~ ^[A-Za-z0-9._:-]+$ ]] || { echo "--bridge: host:port" >&2; exit 2; }
[[ "$max_body" =~ ^[0-9]+[kKmM]?$ ]] || { echo "--max-body: a size like 10m" >&2; exit 2; }
first="${domain%% *}"
static_root="${static_root:-$app_root/staticfiles}"
cert="${cert:-/etc/letsencrypt/live/$first/fullchain.pem}"
cert_key="${cert_key:-/etc/letsencrypt/live/$first/privkey.pem}"
for path in "$static_root" "$cert" "$cert_key" "$acme_root" "$log_dir"; do
  [[ "$path" == /* && "$path" != *[[:space:]\;\{\}\|]* ]] || { echo "$path: an absolute path without spaces" >&2; exit 2; }
done

sed -e "s|{{DOMAIN}}|$domain|g" \
  -e "s|{{STATIC_ROOT}}|${static_root%/}|g" \
  -e "s|{{UPSTREAM}}|$upstream|g" \
  -e "s|{{BRIDGE_UPSTREAM}}|$bridge|g" \
  -e "s|{{SSL_CERTIFICATE}}|$cert|g" \
  -e "s|{{SSL_CERTIFICATE_KEY}}|$cert_key|g" \
  -e "s|{{ACME_ROOT}}|$acme_root|g" \
  -e "s|{{MAX_BODY}}|$max_body|g" \
  -e "s|{{LOG_DIR}}|${log_dir%/}|g" \
  "$template"

"""deploy/nginx/render.sh renders a site that the real nginx accepts (`nginx -t`, nothing started)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import DEPLOY, ROOT

DOMAIN = "clinica.example.com"


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "nginx is not installed: `make install` installs it (apt-get install nginx-light)"
    return found


def _render(*args: str) -> str:
    result = subprocess.run(["bash", str(DEPLOY / "nginx" / "render.sh"), *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def sandbox(tmp_path):
    """A self-signed certificate, log and webroot folders, and a static root, all under tmp_path."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "acme").mkdir()
    (tmp_path / "static").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={DOMAIN}",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )
    return tmp_path


def _nginx_test(site: str, folder: Path) -> subprocess.CompletedProcess:
    (folder / "opticaapp.conf").write_text(site)
    (folder / "nginx.conf").write_text(f"""
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/logs/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/opticaapp.conf;
}}
""")
    return subprocess.run([_nginx(), "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)


def _full_site(sandbox: Path) -> str:
    return _render("--domain", f"{DOMAIN} www.{DOMAIN}", "--static-root", str(sandbox / "static"),
                   "--cert", str(sandbox / "cert.pem"), "--cert-key", str(sandbox / "key.pem"),
                   "--acme-root", str(sandbox / "acme"), "--log-dir", str(sandbox / "logs"))


def test_the_rendered_site_passes_nginx_t(sandbox):
    result = _nginx_test(_full_site(sandbox), sandbox)

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_bootstrap_site_for_the_first_certificate_passes_nginx_t(sandbox):
    site = _render("--domain", DOMAIN, "--bootstrap", "--acme-root", str(sandbox / "acme"))

    result = _nginx_test(site, sandbox)

    assert result.returncode == 0, result.stderr
    assert "ssl" not in site.replace("# ", "")  # no certificate needed yet


def test_the_site_proxies_to_gunicorn_and_of_the_bridge_only_metas_webhook(sandbox):
    site = _full_site(sandbox)
    directives = "\n".join(line for line in site.splitlines() if not line.lstrip().startswith("#"))

    assert "{{" not in site
    assert set(re.findall(r"proxy_pass (\S+);", directives)) == {"http://opticaapp_web", "http://opticaapp_bridge"}
    assert "server 127.0.0.1:8000;" in directives
    assert "server 127.0.0.1:3000;" in directives
    # The bridge is reached for exactly one path: the Cloud API's webhook (Meta sends up to 3 MB).
    bridge_location = directives.split("location = /webhooks/whatsapp {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://opticaapp_bridge;" in bridge_location and "client_max_body_size 3m;" in bridge_location
    assert directives.count("opticaapp_bridge;") == 1
    assert "/metrics" not in directives and "/sandbox" not in directives
    assert "location /whatsapp/events/ {\n        return 404;" in directives
    assert "client_max_body_size 10m;" in directives
    assert f"alias {sandbox / 'static'}/;" in directives
    # Plain HTTP only redirects (after the ACME challenge); TLS 1.2+ only.
    assert "return 301 https://$host$request_uri;" in directives
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in directives
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert f"add_header {header} " in directives
    # The client's address replaces X-Forwarded-For, so django-axes cannot be fooled by a forged one.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in directives
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in directives
    # No query strings (tokens) in the access log format.
    log_format = directives.split("log_format opticaapp", 1)[1].split(";", 1)[0]
    assert "$request_uri" not in log_format and "$args" not in log_format and '"$request"' not in log_format


def test_render_refuses_unsafe_values():
    for args in (["--domain", "evil.com; include /etc/passwd"], ["--domain", DOMAIN, "--static-root", "relative"],
                 ["--domain", DOMAIN, "--max-body", "1g; x"], ["--domain", DOMAIN, "--bridge", "x;y"], []):
        result = subprocess.run(["bash", str(DEPLOY / "nginx" / "render.sh"), *args], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode != 0, args
        assert result.stdout == ""

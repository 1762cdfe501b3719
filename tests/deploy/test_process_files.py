"""ecosystem.config.js (PM2), the systemd units, gunicorn's and logrotate's configuration."""

import configparser
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys

from .conftest import DEPLOY, ROOT

PRINT_APPS = "console.log(JSON.stringify(require('./ecosystem.config.js').apps))"


def _apps(tmp_path, env_file_text="", **env):
    env_file = tmp_path / "test.env"
    env_file.write_text(env_file_text)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BRIDGE_", "OPTICAAPP_"))}
    full_env.update({"OPTICAAPP_ENV_FILE": str(env_file), "OPTICAAPP_LOG_DIR": str(tmp_path / "logs"), **env})
    result = subprocess.run(["node", "-e", PRINT_APPS], cwd=ROOT, env=full_env, capture_output=True, text=True,
                            timeout=60, check=True)
    return {app["name"]: app for app in json.loads(result.stdout)}


def test_pm2_declares_web_worker_and_bridge_with_logs_and_restart_policies(tmp_path):
    apps = _apps(tmp_path)

    assert set(apps) == {"web", "worker", "bridge"}
    assert apps["web"]["script"] == str(ROOT / ".venv" / "bin" / "gunicorn")
    assert apps["web"]["args"] == "opticaapp.wsgi:application -c deploy/gunicorn.conf.py"
    assert apps["worker"]["args"] == "manage.py worker"
    assert apps["bridge"]["args"] == "-m whatsapp_bridge"
    for name, app in apps.items():
        assert os.path.exists(app["script"]), app["script"]
        assert app["cwd"] == str(ROOT)
        assert app["out_file"] == str(tmp_path / "logs" / f"{name}.out.log")
        assert app["error_file"] == str(tmp_path / "logs" / f"{name}.err.log")
        assert app["autorestart"] is True and app["exp_backoff_restart_delay"] > 0 and app["max_restarts"] > 0
        assert app["kill_timeout"] >= 15000
    assert (tmp_path / "logs").is_dir()


def test_production_turns_debug_and_the_sandbox_off_whatever_the_env_file_says(tmp_path):
    apps = _apps(tmp_path, "DJANGO_DEBUG=1\nBRIDGE_SANDBOX=1\n# a comment\nBRIDGE_API_KEY='from the file'\n",
                 BRIDGE_EVENTS_SECRET="from the environment")

    assert apps["web"]["env_production"]["DJANGO_DEBUG"] == "0"
    assert apps["worker"]["env_production"]["DJANGO_DEBUG"] == "0"
    assert apps["bridge"]["env_production"]["BRIDGE_SANDBOX"] == "0"
    assert apps["web"]["env_production"]["GUNICORN_BIND"] == "127.0.0.1:8000"
    # Development keeps the local defaults.
    assert apps["web"]["env"]["DJANGO_DEBUG"] == "1"
    assert apps["bridge"]["env"]["BRIDGE_SANDBOX"] == "1"
    # The bridge does not read .env itself: PM2 hands it the file's values; the environment wins.
    assert apps["bridge"]["env_production"]["BRIDGE_API_KEY"] == "from the file"
    assert "BRIDGE_EVENTS_SECRET" not in apps["bridge"]["env_production"]  # PM2 passes its own environment


def _units():
    units = {}
    for path in sorted((DEPLOY / "systemd").iterdir()):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read_string(path.read_text())
        units[path.name] = parser
    return units


def test_systemd_units_run_the_same_three_processes_as_pm2():
    units = _units()

    assert set(units) == {"opticaapp-web.service", "opticaapp-worker.service", "opticaapp-bridge.service",
                          "opticaapp-backup.service", "opticaapp-backup.timer"}
    starts = {name: unit["Service"]["ExecStart"] for name, unit in units.items() if "Service" in unit}
    assert starts["opticaapp-web.service"].endswith("gunicorn opticaapp.wsgi:application -c deploy/gunicorn.conf.py")
    assert starts["opticaapp-worker.service"].endswith("python manage.py worker")
    assert starts["opticaapp-bridge.service"].endswith("python -m whatsapp_bridge")
    assert "deploy/backup.sh --env-file /srv/opticaapp/.env" in starts["opticaapp-backup.service"]
    for name in ("opticaapp-web.service", "opticaapp-worker.service", "opticaapp-bridge.service"):
        service = units[name]["Service"]
        assert service["Restart"] == "always"
        assert service["User"] == "opticaapp"
        assert service["EnvironmentFile"] == "/srv/opticaapp/.env"
    assert "DJANGO_DEBUG=0" in units["opticaapp-web.service"]["Service"]["Environment"]
    assert "BRIDGE_SANDBOX=0" in units["opticaapp-bridge.service"]["Service"]["Environment"]
    assert units["opticaapp-backup.timer"]["Timer"]["Persistent"] == "true"


def test_systemd_analyze_verifies_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (package systemd) is needed to verify the units"
    # The units name /srv/opticaapp; point them at this checkout so the programs they start exist.
    for path in (DEPLOY / "systemd").iterdir():
        (tmp_path / path.name).write_text(path.read_text().replace("/srv/opticaapp", str(ROOT)))

    result = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "opticaapp" not in result.stderr, result.stderr


def test_logrotate_accepts_the_config(tmp_path):
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert os.path.exists(logrotate), "logrotate is not installed"

    config = (DEPLOY / "logrotate" / "opticaapp").read_text()
    assert "su opticaapp opticaapp" in config
    # The opticaapp user exists on the server, not here: rotate as whoever runs the test.
    me = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    (tmp_path / "opticaapp").write_text(config.replace("su opticaapp opticaapp", "su {} {}".format(*me)))

    result = subprocess.run([logrotate, "--debug", "--state", str(tmp_path / "state"), str(tmp_path / "opticaapp")],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr


def test_gunicorn_config_is_valid_and_keeps_query_strings_out_of_the_access_log():
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.update({"DJANGO_DEBUG": "1", "GUNICORN_WORKERS": "3"})
    script = (
        "from gunicorn.config import Config; import runpy; c = Config(); "
        "[c.set(k, v) for k, v in runpy.run_path('deploy/gunicorn.conf.py').items() if k in c.settings]; "
        "print(c.workers, c.timeout, c.bind, c.access_log_format)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    workers, timeout, bind, log_format = result.stdout.strip().split(" ", 3)

    assert (workers, timeout, bind) == ("3", "30", "['127.0.0.1:8000']")
    assert "%(U)s" in log_format and "%(q)s" not in log_format and "%(r)s" not in log_format

    check = subprocess.run([str(ROOT / ".venv" / "bin" / "gunicorn"), "--check-config", "-c", "deploy/gunicorn.conf.py",
                            "opticaapp.wsgi:application"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stderr

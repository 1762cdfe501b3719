// The three OpticaApp processes, declared once: `make run` starts them with pm2-runtime, and in
// production `pm2 start ecosystem.config.js --env production` (see docs/operations.md).
const path = require("path");

const root = __dirname;
const venvBin = process.env.VENV_BIN || path.join(root, ".venv", "bin");
const logDir = process.env.OPTICAAPP_LOG_DIR || path.join(root, "var", "log");

const common = {
  cwd: root,
  interpreter: "none",
  autorestart: true,
  max_restarts: 20,
  min_uptime: "10s",
  restart_delay: 2000,
  exp_backoff_restart_delay: 200,
  kill_timeout: 15000,
  merge_logs: true,
  time: true,
};

module.exports = {
  apps: [
    {
      ...common,
      name: "web",
      script: path.join(venvBin, "gunicorn"),
      args: "opticaapp.wsgi:application -c deploy/gunicorn.conf.py",
      out_file: path.join(logDir, "web.out.log"),
      error_file: path.join(logDir, "web.err.log"),
      env: { DJANGO_DEBUG: process.env.DJANGO_DEBUG || "1", GUNICORN_BIND: "127.0.0.1:8000" },
      env_production: { DJANGO_DEBUG: "0", GUNICORN_BIND: "127.0.0.1:8000" },
    },
    {
      ...common,
      name: "worker",
      script: path.join(venvBin, "python"),
      args: "manage.py procrastinate worker",
      out_file: path.join(logDir, "worker.out.log"),
      error_file: path.join(logDir, "worker.err.log"),
      // Give a job in flight time to finish; an interrupted job is retried, never sent twice.
      kill_timeout: 30000,
      env: { DJANGO_DEBUG: process.env.DJANGO_DEBUG || "1" },
      env_production: { DJANGO_DEBUG: "0" },
    },
    {
      ...common,
      name: "bridge",
      script: path.join(venvBin, "python"),
      args: "-m whatsapp_bridge",
      out_file: path.join(logDir, "bridge.out.log"),
      error_file: path.join(logDir, "bridge.err.log"),
      env: { BRIDGE_SANDBOX: process.env.BRIDGE_SANDBOX || "1" },
      env_production: { BRIDGE_SANDBOX: "0" },
    },
  ],
};

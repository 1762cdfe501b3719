// The three OpticaApp processes, declared once.
//
// Local:       `make run` starts them in the foreground with pm2-runtime (development values below).
// Production:  (see docs/operations.md, as the opticaapp user, from the checkout)
//   node_modules/.bin/pm2 start ecosystem.config.js --env production   # start web, worker and bridge
//   node_modules/.bin/pm2 save                                          # remember them for the next boot
//   sudo env PATH=$PATH:/usr/bin node_modules/.bin/pm2 startup systemd -u opticaapp --hp /home/opticaapp
//                                                                       # start PM2 (and them) at boot
//   node_modules/.bin/pm2 reload ecosystem.config.js --env production   # after an upgrade
//
// Settings come from the environment and from the checkout's `.env` (OPTICAAPP_ENV_FILE to use another
// file); the environment wins. Django reads `.env` itself; the bridge does not, so the file is loaded here
// and handed to every process. Logs go to OPTICAAPP_LOG_DIR (default var/log; /var/log/opticaapp in
// production, rotated by deploy/logrotate/opticaapp).
const fs = require("fs");
const path = require("path");

const root = __dirname;
const venvBin = process.env.VENV_BIN || path.join(root, ".venv", "bin");

// KEY=value lines; comments and blank lines skipped; surrounding quotes removed; no expansion.
function readEnvFile(file) {
  const values = {};
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    return values;
  }
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, "");
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2].trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    values[match[1]] = value;
  }
  return values;
}

const fileEnv = readEnvFile(process.env.OPTICAAPP_ENV_FILE || path.join(root, ".env"));
const setting = (name, fallback) => process.env[name] ?? fileEnv[name] ?? fallback;

const logDir = path.resolve(root, setting("OPTICAAPP_LOG_DIR", path.join("var", "log")));
try {
  fs.mkdirSync(logDir, { recursive: true });
} catch (error) {
  // PM2 reports the unwritable log files itself.
}

// Values of .env for variables the environment does not set (PM2 already passes its own environment).
const fromFile = Object.fromEntries(Object.entries(fileEnv).filter(([name]) => process.env[name] === undefined));

const common = {
  cwd: root,
  interpreter: "none",
  // Restart policy: always restart a crashed process, backing off exponentially (200 ms doubling up to
  // 15 s) while it keeps failing; a process that ran 30 s counts as started. PM2 gives up after 50 quick
  // failures in a row (then `pm2 logs` tells why).
  autorestart: true,
  max_restarts: 50,
  min_uptime: "30s",
  exp_backoff_restart_delay: 200,
  kill_timeout: 15000,
  merge_logs: true,
  time: true,
};

function app(name, script, args, extra) {
  return {
    ...common,
    name,
    script,
    args,
    out_file: path.join(logDir, `${name}.out.log`),
    error_file: path.join(logDir, `${name}.err.log`),
    ...extra,
    env: { ...fromFile, PYTHONUNBUFFERED: "1", ...extra.env },
    env_production: { ...fromFile, PYTHONUNBUFFERED: "1", ...extra.env_production },
  };
}

module.exports = {
  apps: [
    // Django behind gunicorn: workers from the CPU count, timeouts and the access log (no query strings)
    // in deploy/gunicorn.conf.py. Only nginx reaches it, on the loopback.
    app("web", path.join(venvBin, "gunicorn"), "opticaapp.wsgi:application -c deploy/gunicorn.conf.py", {
      // gunicorn restarts its own workers (max_requests); this is the last resort for a runaway master.
      max_memory_restart: setting("WEB_MAX_MEMORY", "1500M"),
      env: { DJANGO_DEBUG: setting("DJANGO_DEBUG", "1"), GUNICORN_BIND: setting("GUNICORN_BIND", "127.0.0.1:8000") },
      env_production: { DJANGO_DEBUG: "0", GUNICORN_BIND: setting("GUNICORN_BIND", "127.0.0.1:8000") },
    }),
    // Background jobs (reminders, sends, retries, periodic jobs).
    // `manage.py worker` is procrastinate's worker started again after a PostgreSQL restart (exit 1
    // when the database stays away, then PM2 restarts it).
    app("worker", path.join(venvBin, "python"), "manage.py worker", {
      // Give a job in flight time to finish; an interrupted job is retried, never sent twice.
      kill_timeout: 30000,
      max_memory_restart: setting("WORKER_MAX_MEMORY", "800M"),
      env: { DJANGO_DEBUG: setting("DJANGO_DEBUG", "1") },
      env_production: { DJANGO_DEBUG: "0" },
    }),
    // The WhatsApp bridge: one process for every clinic's session; never exposed by nginx.
    app("bridge", path.join(venvBin, "python"), "-m whatsapp_bridge", {
      // Sessions close cleanly (credentials flushed) before a restart.
      kill_timeout: 20000,
      env: { BRIDGE_SANDBOX: setting("BRIDGE_SANDBOX", "1") },
      // Never the simulated WhatsApp in production, whatever .env says.
      env_production: { BRIDGE_SANDBOX: "0" },
    }),
  ],
};

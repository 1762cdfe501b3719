"""Run every benchmark (small sizes unless BENCH_FULL=1); each prints one JSON object per line."""

import subprocess
import sys
import time

from bench.common import ROOT

BENCHMARKS = ["bench.bridge_send", "bench.event_ingest", "bench.reminder_fanout", "bench.front_desk", "bench.inbox",
              "bench.bridge_memory"]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        if not (ROOT / (module.replace(".", "/") + ".py")).exists():
            continue
        began = time.monotonic()
        result = subprocess.run([sys.executable, "-m", module], cwd=ROOT)
        sys.stderr.write(f"{module}: {time.monotonic() - began:.0f}s\n")
        if result.returncode != 0:
            failed.append(module)
    if failed:
        sys.stderr.write(f"failed: {', '.join(failed)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

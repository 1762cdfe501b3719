"""`make neonize-check`: the installed neonize and its bundled Go core are the pinned ones.

A stale or mismatched core fails every linked clinic at once (`ClientOutdated`, or neonize
fetching another build from GitHub at import time), so this runs before the tests and before
a deploy. The core is loaded with ctypes only, never through neonize (whose import would try
to download a replacement on a mismatch).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = Path(os.environ.get("NEONIZE_LOCK") or ROOT / "whatsapp_bridge" / "neonize.lock")
REQUIREMENTS = ROOT / "whatsapp_bridge" / "requirements.txt"


def lock() -> dict[str, str]:
    values = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("==" if "==" in line else "=")
            values[key] = value
    return values


def problems() -> list[str]:
    pinned = lock()
    found = []
    required = re.search(r"^neonize==(\S+)", REQUIREMENTS.read_text(), re.M)
    if not required or required.group(1) != pinned["neonize"]:
        pin = required.group(1) if required else None
        found.append(f"{REQUIREMENTS.name} pins neonize {pin}, neonize.lock {pinned['neonize']}")
    try:
        installed = importlib.metadata.version("neonize")
    except importlib.metadata.PackageNotFoundError:
        return [*found, "neonize is not installed"]
    if installed != pinned["neonize"]:
        found.append(f"installed neonize is {installed}, pinned {pinned['neonize']}")
    package = Path(importlib.util.find_spec("neonize").origin).parent
    core = package / "neonize-linux-amd64.so"
    if not core.exists():
        return [*found, f"{core} is missing (neonize would download one at import)"]
    digest = hashlib.sha256(core.read_bytes()).hexdigest()
    if digest != pinned["linux-amd64-sha256"]:
        found.append(f"{core.name} sha256 is {digest}, pinned {pinned['linux-amd64-sha256']}")
    library = ctypes.CDLL(str(core))
    library.GetVersion.restype = ctypes.c_char_p
    version = library.GetVersion().decode()
    if version != pinned["goneonize-version"]:
        found.append(f"the bundled Go core reports {version}, pinned {pinned['goneonize-version']}")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(f"neonize-check: {problem}", file=sys.stderr)
    if not found:
        print(f"neonize-check: neonize {lock()['neonize']} and its Go core match the pin")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

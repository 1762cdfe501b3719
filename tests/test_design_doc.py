"""docs/design.md is the contract: it names every app, every bridge route and every event type there is."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN = (ROOT / "docs" / "design.md").read_text()


def test_the_readme_points_at_the_design_in_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "docs/design.md" in readme
    assert "shared/DESIGN.md" not in readme


def test_every_app_is_in_the_layout():
    apps = sorted(p.name for p in (ROOT / "apps").iterdir() if (p / "apps.py").exists())
    layout = DESIGN.split("## Layout", 1)[1].split("### Rules of the house", 1)[0]
    missing = [app for app in apps if not re.search(rf"^\s+{app}/", layout, re.MULTILINE)]
    assert missing == []


def test_every_bridge_route_is_in_the_contract():
    source = (ROOT / "whatsapp_bridge" / "app.py").read_text()
    routes = set(re.findall(r'@app\.(?:get|post|put|delete|patch)\(\s*"([^"]+)"', source))
    assert "/api/send-message" in routes  # the pattern still finds the routes
    documented = {route for route in routes if f"`{route}`" in DESIGN or re.search(
        rf"`(?:GET|POST|PUT|DELETE)(?: / (?:GET|POST|PUT|DELETE))? {re.escape(route)}`", DESIGN)}
    assert sorted(routes - documented - {"/openapi.json"}) == []


def test_every_event_type_the_bridge_emits_is_in_the_contract():
    emitted = set()
    for path in (ROOT / "whatsapp_bridge").rglob("*.py"):
        if "tests" not in path.parts:
            emitted |= set(re.findall(r'"((?:session|message)\.[a-z_]+)"', path.read_text()))
    assert {"session.status", "message.status", "message.inbound"} <= emitted
    assert sorted(t for t in emitted if f"`{t}`" not in DESIGN) == []

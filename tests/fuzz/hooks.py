"""Schemathesis hooks of the fuzz run: the project's own rule on top of the built-in checks."""

import schemathesis


@schemathesis.check
def refusal_names_its_field(ctx, response, case):
    """Bad input gets a JSON error naming the field (Django: `fields`; bridge: `field`)."""
    if response.status_code not in (400, 422) or "json" not in (response.headers.get("content-type") or [""])[0]:
        return None
    body = response.json()
    named = body.get("fields") if "fields" in body else body.get("field")
    if not named:
        raise AssertionError(f"{response.status_code} without the field it refuses: {body}")
    return None

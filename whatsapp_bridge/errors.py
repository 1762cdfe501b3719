"""The JSON error every route answers with: {"error": ..., "field": ...}."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, error: str, field: str | None = None, **extra):
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **({"field": field} if field else {}), **extra}

"""Deferring a job by its task's name: services never import a tasks module (the tasks import the services).

procrastinate's Django app discovers every app's `tasks.py` at start-up, so the name is known by the time
anything defers; an unknown name raises TaskNotFound instead of queueing a job no worker runs.
"""

from __future__ import annotations

from typing import Any

from procrastinate.contrib.django import app
from procrastinate.jobs import JobDeferrer


def task_configure(name: str, **options: Any) -> JobDeferrer:
    """The task `name` with procrastinate's `configure` options (lock, queueing_lock, schedule_at, ...);
    call `.defer(**task_kwargs)` or `.make_new_job(**task_kwargs)` on what it returns."""
    return app.configure_task(name, allow_unknown=False, **options)

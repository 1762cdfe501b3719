"""Signals other apps listen to; appointments never imports its listeners.

`appointment_changed` is sent after the change is committed (never inside an open transaction),
with `appointment_id` and `change`, one of CHANGES. The notifications app plans or drops reminders.
"""

import django.dispatch

CHANGES = ("booked", "moved", "cancelled", "status", "confirmation")

appointment_changed = django.dispatch.Signal()

"""Signals other apps listen to; appointments never imports its listeners.

`appointment_changed` is sent after the change is committed (never inside an open transaction),
with `appointment_id` and `change`, one of CHANGES. The notifications app plans or drops reminders.

`appointments_changed` is the same news for many appointments changed at once (a batch of reminders
that went out moves their appointments to "confirmation requested"), with `appointment_ids` and
`change`: a listener of `appointment_changed` that cares about such a change listens to both.
"""

import django.dispatch

CHANGES = ("booked", "moved", "cancelled", "status", "confirmation")

appointment_changed = django.dispatch.Signal()
appointments_changed = django.dispatch.Signal()

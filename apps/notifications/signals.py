"""Signals other apps listen to without notifications knowing them."""

from django.dispatch import Signal

# Sent with `messages` (saved Message rows) by writers that store many at once with bulk_create,
# which sends no post_save; a single Message.objects.create sends post_save as usual.
messages_stored = Signal()

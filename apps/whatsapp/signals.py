"""What the session tells other apps, without knowing them (they connect receivers; this app imports none).

Both are sent inside the transaction that saved the session, with `organization` and `session`; a
receiver's exception propagates to the caller.
"""

from django.dispatch import Signal

# The session went from usable to logged out or failed: only a new QR scan brings it back.
session_needs_relink = Signal()

# The bridge reports the session connected (again, or still).
session_linked = Signal()

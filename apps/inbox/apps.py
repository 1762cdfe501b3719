from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "apps.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self):
        from apps.inbox import receivers

        receivers.connect()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhatsAppConfig(AppConfig):
    name = "apps.whatsapp"
    label = "whatsapp"
    verbose_name = _("WhatsApp")

    def ready(self):
        from apps.whatsapp import checks  # noqa: F401 - registers the bridge secrets' system checks

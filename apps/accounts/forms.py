from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import email_normalize


class EmailAuthenticationForm(AuthenticationForm):
    """Login by email; every failure gives the same message so accounts cannot be probed."""

    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True}))
    error_messages = {
        "invalid_login": _("The email or password is not correct."),
        "inactive": _("The email or password is not correct."),
    }

    def clean_username(self):
        return email_normalize(self.cleaned_data.get("username"))

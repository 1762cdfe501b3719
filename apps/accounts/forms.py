from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class EmailAuthenticationForm(AuthenticationForm):
    """Login by email; every failure gives the same message so accounts cannot be probed."""

    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True}))
    error_messages = {
        "invalid_login": _("The email or password is not correct."),
        "inactive": _("The email or password is not correct."),
    }

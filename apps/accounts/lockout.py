"""django-axes hooks: the account part of the lockout key, and the answer a locked-out client gets."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.accounts.models import email_normalize


def axes_username(request, credentials=None) -> str:
    """Every spelling of one email is one account, for the login page and the API token alike."""
    if credentials:
        return email_normalize(credentials.get(settings.AXES_USERNAME_FORM_FIELD))
    return email_normalize(request.POST.get(settings.AXES_USERNAME_FORM_FIELD))


def axes_lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Too many failed sign-in attempts: try again in a few minutes."),
                             "code": "locked_out", "fields": {}}, status=429)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)

"""django-axes hooks: the account part of the lockout key, and the answer a locked-out client gets."""

import ipaddress

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.accounts.models import email_normalize


def client_ip(request) -> str | None:
    """The address of the client, as the last TRUSTED_PROXY_COUNT proxies (nginx) saw it.

    Each trusted proxy appends the address it received from to X-Forwarded-For, so the entry that many places from
    the end is the client; anything further left was written by the client and is ignored. With no trusted proxy
    (a local run), the socket's address."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote


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

import json
import logging
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.organizations.models import MANAGER_ROLES
from apps.organizations.roles import role_required
from apps.whatsapp import services
from apps.whatsapp.client import BridgeError
from apps.whatsapp.events import MalformedEvents, events_process, signature_valid
from apps.whatsapp.models import QR_ENGINES, Engine
from apps.whatsapp.selectors import rejected_events_count

QR_ENGINE_CHOICES = [(value, label) for value, label in Engine.choices if value in QR_ENGINES]

log = logging.getLogger(__name__)


class LinkForm(forms.Form):
    engine = forms.ChoiceField(label=_("Engine"), choices=QR_ENGINE_CHOICES, initial=Engine.SANDBOX)


class CloudCredentialsForm(forms.Form):
    """What the clinic copies from its Meta app (WhatsApp › API Setup and App settings › Basic)."""

    phone_number_id = forms.RegexField(label=_("Phone number ID"), regex=r"^\d{5,32}$", max_length=32,
                                       error_messages={"invalid": _("Only digits, as shown in Meta's API Setup.")})
    waba_id = forms.RegexField(label=_("WhatsApp Business Account ID"), regex=r"^\d{5,32}$", max_length=32,
                               error_messages={"invalid": _("Only digits, as shown in Meta's API Setup.")})
    access_token = forms.CharField(label=_("Access token"), min_length=20, max_length=1024,
                                   widget=forms.PasswordInput(render_value=False),
                                   help_text=_("A permanent system-user token with whatsapp_business_messaging."))
    app_secret = forms.CharField(label=_("App secret"), min_length=16, max_length=128,
                                 widget=forms.PasswordInput(render_value=False),
                                 help_text=_("App settings › Basic; it verifies that webhooks come from Meta."))
    verify_token = forms.CharField(label=_("Webhook verify token"), min_length=8, max_length=256,
                                   help_text=_("Type the same value in Meta's webhook configuration."))


class PairingForm(forms.Form):
    phone = forms.CharField(label=_("Phone number of the WhatsApp account"), max_length=30)


def _status_context(request, *, error: str = "", pairing_code: str = "", pairing_form=None) -> dict:
    qr = None
    bridge_down = False
    try:
        session, qr, capabilities = services.session_refresh(organization=request.organization)
    except BridgeError:
        session, bridge_down = services.session_get(organization=request.organization), True
        capabilities = services.capabilities_of(session)
    return {
        "session": session, "qr": qr, "bridge_down": bridge_down, "error": error, "pairing_code": pairing_code,
        "capabilities": capabilities,
        "pairing_form": pairing_form or PairingForm(), "engines": QR_ENGINE_CHOICES,
    }


def _cloud_form() -> CloudCredentialsForm:
    return CloudCredentialsForm(initial={"verify_token": secrets.token_urlsafe(18)})


@role_required(*MANAGER_ROLES)
def link_page(request):
    return render(request, "whatsapp/link.html", {**_status_context(request), "cloud_form": _cloud_form(),
                                                  "rejected_events": rejected_events_count(
                                                      organization=request.organization)})


@role_required(*MANAGER_ROLES)
@require_POST
def cloud_connect(request):
    form = CloudCredentialsForm(request.POST)
    if form.is_valid():
        try:
            services.session_cloud_connect(organization=request.organization, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The WhatsApp Business Cloud API is connected."))
            return redirect("whatsapp-link")
    return render(request, "whatsapp/link.html", {**_status_context(request), "cloud_form": form}, status=400)


def _status_fragment(request, **kwargs):
    return render(request, "whatsapp/_status.html", _status_context(request, **kwargs))


@role_required(*MANAGER_ROLES)
def link_status(request):
    return _status_fragment(request)


@role_required(*MANAGER_ROLES)
@require_POST
def link_start(request):
    form = LinkForm(request.POST)
    if not form.is_valid():
        return _status_fragment(request, error="; ".join(form.errors.get("engine", [])))
    try:
        services.session_link_start(organization=request.organization, engine=form.cleaned_data["engine"])
    except ApplicationError as exc:
        return _status_fragment(request, error=exc.message)
    return _status_fragment(request)


@role_required(*MANAGER_ROLES)
@require_POST
def unlink(request):
    try:
        services.session_unlink(organization=request.organization)
    except ApplicationError as exc:
        return _status_fragment(request, error=exc.message)
    return _status_fragment(request)


@role_required(*MANAGER_ROLES)
@require_POST
def pairing_code(request):
    form = PairingForm(request.POST)
    if form.is_valid():
        try:
            code = services.session_pairing_code(organization=request.organization, phone=form.cleaned_data["phone"])
        except ApplicationError as exc:
            form.add_error("phone", exc.message)
        else:
            return _status_fragment(request, pairing_code=code)
    return _status_fragment(request, pairing_form=form)


@csrf_exempt
@require_POST
def events_receive(request):
    """The bridge's webhook: 401 unless signed with the shared secret, 400 when not a list of events."""
    if not signature_valid(body=request.body, header=request.headers.get("X-Bridge-Signature", ""),
                           secret=settings.WHATSAPP_EVENTS_SECRET):
        return JsonResponse({"detail": "invalid signature", "code": "invalid_signature"}, status=401)
    try:
        events = json.loads(request.body)
        result = events_process(events=events)
    except (ValueError, MalformedEvents) as exc:
        return JsonResponse({"detail": str(exc), "code": "malformed", "fields": {"body": [str(exc)]}}, status=400)
    except (OperationalError, InterfaceError):
        # The database is restarting: the bridge keeps the batch and posts it again, counting
        # this against none of its events.
        log.warning("events not applied: the database is unavailable")
        return JsonResponse({"detail": "the database is unavailable, post again later", "code": "unavailable"},
                            status=503, headers={"Retry-After": "5"})
    return HttpResponse(json.dumps(result.as_json()), content_type="application/json")

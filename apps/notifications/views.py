from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.appointments.models import Appointment
from apps.common.exceptions import ApplicationError
from apps.notifications import outbox, replies, selectors, services
from apps.notifications.forms import (
    LANGUAGE_CODES,
    AmbiguousReplyForm,
    FreeTextForm,
    MediaSendForm,
    MessageFilterForm,
    RuleForm,
    SettingsForm,
    TemplateForm,
)
from apps.notifications.models import (
    AttachmentKind,
    Direction,
    Message,
    MessageAttachment,
    ReminderRule,
    StaffAlert,
    TemplateKind,
)
from apps.notifications.outbox import free_text_send
from apps.notifications.reminders import reminder_send_now
from apps.notifications.rendering import context_for
from apps.notifications.templating import render_template
from apps.organizations.models import MANAGER_ROLES
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404, scoped
from apps.patients.models import Patient


def _apply_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _settings_context(request, **extra):
    organization = request.organization
    obj = services.notification_settings_get(organization=organization)
    return {
        "settings_form": extra.pop("settings_form", None) or SettingsForm(instance=obj),
        "rules": scoped(ReminderRule, organization).order_by("-lead_hours"),
        "rule_form": extra.pop("rule_form", None) or RuleForm(initial={"lead_hours": 2, "skip_within_hours": 1}),
        "templates": selectors.template_rows(organization=organization),
        "alerts": selectors.staff_alerts_open(organization=organization)[:20],
        **extra,
    }


@role_required(*MANAGER_ROLES)
def notification_settings(request):
    if request.method == "POST":
        obj = services.notification_settings_get(organization=request.organization)
        form = SettingsForm(request.POST, instance=obj)
        if form.is_valid():
            try:
                services.notification_settings_update(organization=request.organization, data=form.cleaned_data)
            except ApplicationError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, _("Notification settings saved."))
                return redirect("notification-settings")
        obj.refresh_from_db()
        return render(request, "notifications/settings.html", _settings_context(request, settings_form=form),
                      status=400)
    return render(request, "notifications/settings.html", _settings_context(request))


@role_required(*MANAGER_ROLES)
@require_POST
def reminder_rule_create(request):
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            services.reminder_rule_create(organization=request.organization, **form.cleaned_data)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Reminder rule added."))
            return redirect("notification-settings")
    return render(request, "notifications/settings.html", _settings_context(request, rule_form=form), status=400)


@role_required(*MANAGER_ROLES)
@require_POST
def reminder_rule_update(request, pk):
    rule = get_scoped_or_404(ReminderRule, request.organization, pk=pk)
    form = RuleForm(request.POST, instance=ReminderRule.objects.get(pk=rule.pk))
    if form.is_valid():
        try:
            services.reminder_rule_update(rule=rule, data=form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Reminder rule saved."))
    else:
        messages.error(request, "; ".join(f"{form.fields[f].label}: {' '.join(e)}" if f in form.fields else " ".join(e)
                                          for f, e in form.errors.items()))
    return redirect("notification-settings")


@role_required(*MANAGER_ROLES)
@require_POST
def reminder_rule_delete(request, pk):
    rule = get_scoped_or_404(ReminderRule, request.organization, pk=pk)
    services.reminder_rule_delete(rule=rule)
    messages.success(request, _("Reminder rule deleted."))
    return redirect("notification-settings")


def _template_args(kind, language):
    if kind not in TemplateKind.values or language not in LANGUAGE_CODES:
        raise Http404
    return TemplateKind(kind)


@role_required(*MANAGER_ROLES)
def message_template_edit(request, kind, language):
    kind = _template_args(kind, language)
    row = next(r for r in selectors.template_rows(organization=request.organization)
               if r["kind"] == kind and r["language"] == language)
    if request.method == "POST":
        if "reset" in request.POST:
            services.message_template_reset(organization=request.organization, kind=kind, language=language)
            messages.success(request, _("The default text is back in use."))
            return redirect("notification-settings")
        form = TemplateForm(request.POST)
        if form.is_valid():
            services.message_template_save(organization=request.organization, kind=kind, language=language,
                                           **form.cleaned_data)
            messages.success(request, _("Template saved."))
            return redirect("notification-settings")
        status = 400
    else:
        form = TemplateForm(initial={"body": row["body"], **{f: row[f] for f in TemplateForm.META_FIELDS}})
        status = 200
    return render(request, "notifications/template_edit.html", {
        "form": form, "row": row, "preview": _preview(request, form["body"].value() or ""),
    }, status=status)


@role_required(*MANAGER_ROLES)
@require_POST
def message_template_preview(request):
    return render(request, "notifications/_preview.html", {"preview": _preview(request, request.POST.get("body", ""))})


def _preview(request, body: str) -> dict:
    from django.core.exceptions import ValidationError

    from apps.notifications.templating import validate_template_body

    try:
        validate_template_body(body)
    except ValidationError as exc:
        return {"error": " ".join(exc.messages)}
    context = context_for(organization=request.organization, language=request.LANGUAGE_CODE)
    context.update(patient_first_name="Ana", patient_name="Ana Gómez", date=_("Monday 24 November"),
                   time="15:30", provider="Dr. Ruiz")
    return {"text": render_template(body, context)}


@role_required(*MANAGER_ROLES)
@require_POST
def staff_alert_handle(request, pk):
    alert = get_scoped_or_404(StaffAlert, request.organization, pk=pk)
    services.staff_alert_handle(alert=alert, user=request.user)
    messages.success(request, _("Alert marked as handled."))
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "notification-settings"
    return redirect(next_url)


@role_required()
def message_list(request):
    form = MessageFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.message_list(organization=request.organization, filters=filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "notifications/message_list.html", {
        "form": form, "page": page, "alerts": selectors.staff_alerts_open(organization=request.organization)[:10],
    })


@role_required()
def patient_messages(request, patient_pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    rows = selectors.messages_for_patient(organization=request.organization, patient=patient)[:100]
    return render(request, "notifications/_patient_messages.html", {"patient": patient, "rows": rows})


@role_required()
def patient_whatsapp_send(request, patient_pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    sent = None
    if request.method == "POST":
        form = FreeTextForm(request.POST)
        if form.is_valid():
            try:
                sent = free_text_send(organization=request.organization, patient=patient,
                                      body=form.cleaned_data["body"], sent_by=request.user)
            except ApplicationError as exc:
                _apply_error(form, exc)
            else:
                form = FreeTextForm()
    else:
        form = FreeTextForm()
    status = 400 if form.errors else 200
    return render(request, "notifications/_patient_send.html", {
        "patient": patient, "form": form, "sent": sent, "blocked": outbox.free_text_blocked_reason(patient=patient),
    }, status=status)


@role_required()
def patient_whatsapp_send_file(request, patient_pk):
    """An image or a document to the patient, from the patient page or a conversation in the inbox."""
    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    sent = None
    form = MediaSendForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["content"]
        try:
            sent = services.message_send_media(
                organization=request.organization, patient=patient, content=upload.read(), filename=upload.name,
                content_type=upload.content_type or "", caption=form.cleaned_data["caption"], sent_by=request.user)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            form = MediaSendForm()
    return render(request, "notifications/_patient_send_file.html", {
        "patient": patient, "form": form, "sent": sent, "blocked": outbox.free_text_blocked_reason(patient=patient),
    }, status=400 if form.errors else 200)


@role_required()
def message_attachment(request, pk):
    """A message's file, to members of its own clinic only; another clinic's answers 404."""
    attachment = get_scoped_or_404(MessageAttachment, request.organization, pk=pk)
    if not attachment.file:
        raise Http404
    # Images, audio and video play in the page; documents are downloaded, never rendered by
    # the browser from our origin.
    inline = attachment.kind != AttachmentKind.DOCUMENT and request.GET.get("download") is None
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.mime_type,
                            as_attachment=not inline, filename=attachment.filename)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _reminder_panel(request, appointment, **extra):
    rows = selectors.reminder_rows(organization=request.organization, appointments=[appointment])
    return render(request, "notifications/_appointment_reminders.html", {
        "appointment": appointment, "rows": rows, "has_sent": any(row["message"] for row in rows),
        "blocked": selectors.reminder_send_blocked_reason(appointment=appointment), **extra,
    })


@role_required()
def appointment_reminders(request, appointment_pk):
    """The appointment page's reminder panel (htmx): planned, sent, not sent and why."""
    appointment = get_scoped_or_404(Appointment.objects.select_related("patient", "organization"),
                                    request.organization, pk=appointment_pk)
    return _reminder_panel(request, appointment)


@role_required()
@require_POST
def appointment_reminder_send(request, appointment_pk):
    appointment = get_scoped_or_404(Appointment.objects.select_related("patient", "organization"),
                                    request.organization, pk=appointment_pk)
    try:
        reminder_send_now(appointment=appointment, user=request.user)
    except ApplicationError as exc:
        return _reminder_panel(request, appointment, error=exc.message)
    return _reminder_panel(request, appointment, sent=True)


@role_required()
def patient_reminders(request, patient_pk):
    """The patient page's view of the reminders of their upcoming appointments."""
    from django.utils import timezone

    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    upcoming = scoped(Appointment, request.organization).filter(patient=patient, start__gt=timezone.now())
    return render(request, "notifications/_patient_reminders.html", {
        "patient": patient, "rows": selectors.reminder_rows(organization=request.organization, appointments=upcoming),
    })


@role_required()
def ambiguous_reply(request, pk):
    """Staff choose which appointment an answer from a phone several patients share was about."""
    message = get_scoped_or_404(Message.objects.select_related("organization"), request.organization, pk=pk,
                                direction=Direction.INBOUND)
    candidates = replies.ambiguous_reply_candidates(message=message)
    form = AmbiguousReplyForm(request.POST if request.method == "POST" else None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            answered = replies.ambiguous_reply_assign(message=message, appointment_id=form.cleaned_data["appointment"],
                                                      user=request.user)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("The answer was applied to the appointment of %(patient)s.")
                             % {"patient": answered.patient.full_name})
            return redirect("alert-list")
    return render(request, "notifications/ambiguous_reply.html",
                  {"message": message, "form": form, "candidates": candidates},
                  status=400 if form.errors else 200)

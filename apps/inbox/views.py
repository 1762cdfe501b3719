from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from apps.appointments.models import Appointment
from apps.common.exceptions import ApplicationError
from apps.common.validation import is_whole_number
from apps.inbox import selectors, services
from apps.inbox.forms import CannedReplyForm, ReplyForm
from apps.inbox.models import CannedReply, ConversationState
from apps.notifications.templating import VARIABLES
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.models import Patient

FILTER_LABELS = {
    "open": pgettext_lazy("conversation state", "Open"), "mine": gettext_lazy("Mine"),
    "unassigned": gettext_lazy("Unassigned"),
    "pending": gettext_lazy("Pending"), "resolved": gettext_lazy("Resolved"), "all": gettext_lazy("All"),
}


def _conversation_or_404(request, pk):
    conversation = selectors.conversation_get(organization=request.organization, pk=pk)
    if conversation is None:  # another clinic's conversation is simply not there
        raise Http404
    return conversation


@role_required()
def inbox(request):
    current = request.GET.get("filter") or "open"
    if current not in selectors.FILTERS:
        current = "open"
    query = request.GET.get("q", "")
    # The list's 4-second poll sends the version of the list it shows (?since=): while no conversation
    # of the clinic has changed, the answer is an empty 204 and htmx keeps what is on screen.
    version = selectors.conversation_list_version(organization=request.organization)
    if request.htmx and request.GET.get("since") == version:
        return HttpResponse(status=204)
    conversations = selectors.conversation_list(organization=request.organization, user=request.user,
                                                filter=current, query=query)[:200]
    context = {
        "conversations": conversations, "current_filter": current, "query": query, "list_version": version,
        "filters": [(key, FILTER_LABELS[key]) for key in selectors.FILTERS],
    }
    if request.htmx:
        return render(request, "inbox/_conversation_list.html", context)
    return render(request, "inbox/inbox.html", context)


def _detail_context(request, conversation, form=None):
    appointment = selectors.next_appointment_for(conversation=conversation)
    canned = [(c, services.canned_reply_render(canned=c, conversation=conversation))
              for c in selectors.canned_reply_list(organization=request.organization)]
    return {
        "conversation": conversation,
        "thread": selectors.conversation_messages(conversation=conversation),
        "next_appointment": appointment,
        "form": form or ReplyForm(),
        "canned_replies": canned,
        "members": selectors.assignable_members(organization=request.organization),
        "states": ConversationState.choices,
        "whatsapp_linked": services.whatsapp_is_linked(organization=request.organization),
    }


@role_required()
def conversation_detail(request, pk):
    conversation = _conversation_or_404(request, pk)
    services.conversation_refresh_state(conversation=conversation)
    services.conversation_mark_read(conversation=conversation)
    return render(request, "inbox/conversation.html", _detail_context(request, conversation))


@role_required()
def conversation_thread(request, pk):
    """The message list alone, polled by htmx while the conversation is open on screen."""
    conversation = _conversation_or_404(request, pk)
    services.conversation_mark_read(conversation=conversation)
    return render(request, "inbox/_thread.html", {
        "conversation": conversation, "thread": selectors.conversation_messages(conversation=conversation)})


@role_required()
@require_POST
def conversation_reply(request, pk):
    conversation = _conversation_or_404(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ApplicationError(" ".join(form.errors.get("content", [])), field="content")
        services.conversation_reply(conversation=conversation, body=form.cleaned_data.get("body", ""),
                                    user=request.user, upload=form.cleaned_data.get("content"))
    except ApplicationError as exc:
        if not form.errors:  # a refused file already carries its form error
            form.add_error(None if exc.field not in form.fields else exc.field, exc.message)
        if request.htmx:
            return render(request, "inbox/_reply_form.html", {"conversation": conversation, "form": form})
        messages.error(request, exc.message)
        return redirect("conversation-detail", pk=conversation.pk)
    if request.htmx:
        response = render(request, "inbox/_reply_form.html",
                          {"conversation": conversation, "form": ReplyForm(), "sent": True})
        response["HX-Trigger"] = "inbox-refresh"
        return response
    messages.success(request, _("Reply queued for sending."))
    return redirect("conversation-detail", pk=conversation.pk)


@role_required()
@require_POST
def conversation_state(request, pk):
    conversation = _conversation_or_404(request, pk)
    try:
        services.conversation_state_set(conversation=conversation, state=request.POST.get("state", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("conversation-detail", pk=conversation.pk)


@role_required()
@require_POST
def conversation_assign(request, pk):
    conversation = _conversation_or_404(request, pk)
    user = None
    raw = request.POST.get("assigned_to", "")
    if raw == "me":
        user = request.user
    elif is_whole_number(raw):
        membership = selectors.assignable_members(organization=request.organization).filter(user_id=int(raw)).first()
        if membership is None:
            messages.error(request, _("Choose a member of this clinic."))
            return redirect("conversation-detail", pk=conversation.pk)
        user = membership.user
    services.conversation_assign(conversation=conversation, user=user)
    return redirect("conversation-detail", pk=conversation.pk)


@role_required()
@require_POST
def conversation_appointment(request, pk, appointment_pk, action):
    if action not in ("confirm", "cancel"):
        raise Http404
    conversation = _conversation_or_404(request, pk)
    appointment = get_scoped_or_404(Appointment, request.organization, pk=appointment_pk)
    try:
        if action == "confirm":
            services.conversation_appointment_confirm(conversation=conversation, appointment=appointment,
                                                      user=request.user)
            messages.success(request, _("Appointment confirmed."))
        else:
            services.conversation_appointment_cancel(conversation=conversation, appointment=appointment,
                                                     user=request.user)
            messages.success(request, _("Appointment cancelled."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("conversation-detail", pk=conversation.pk)


@role_required()
def patient_conversation(request, patient_pk):
    """Open (or start) the conversation of one patient, e.g. from the patient page."""
    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    conversation = services.conversation_for_patient(organization=request.organization, patient=patient)
    return redirect("conversation-detail", pk=conversation.pk)


@role_required()
def unread_badge(request):
    count = selectors.unread_conversation_count(organization=request.organization)
    return HttpResponse(str(count) if count else "")


# --- canned replies -------------------------------------------------------------------------


@role_required()
def canned_reply_list(request, pk=None):
    canned = get_scoped_or_404(CannedReply, request.organization, pk=pk) if pk else None
    form = CannedReplyForm(request.POST or None, instance=canned)
    if request.method == "POST":
        try:
            services.canned_reply_save(organization=request.organization, canned=canned,
                                       title=request.POST.get("title", ""), body=request.POST.get("body", ""))
        except ApplicationError as exc:
            form.add_error(exc.field, exc.message)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Canned reply saved."))
            return redirect("canned-reply-list")
    return render(request, "inbox/canned_replies.html", {
        "form": form, "editing": canned, "variables": ["{" + v + "}" for v in VARIABLES],
        "canned_replies": selectors.canned_reply_list(organization=request.organization),
    })


@role_required()
@require_POST
def canned_reply_delete(request, pk):
    canned = get_object_or_404(selectors.canned_reply_list(organization=request.organization), pk=pk)
    services.canned_reply_delete(canned=canned)
    messages.success(request, _("Canned reply deleted."))
    return redirect("canned-reply-list")

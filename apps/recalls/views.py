from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.organizations.models import MANAGER_ROLES
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.recalls.forms import RecallFilterForm, RecallRuleForm
from apps.recalls.models import OPEN_STATUSES, Recall, RecallRule, RecallStatus
from apps.recalls.selectors import recall_list as recalls_select
from apps.recalls.services import (
    recall_rule_update,
    recall_rules_get,
    recall_send_whatsapp,
    recall_status_set,
    recalls_generate,
)


@role_required()
def recall_list(request):
    form = RecallFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    statuses = [filters["status"]] if filters.get("status") else list(OPEN_STATUSES)
    recalls = recalls_select(organization=request.organization,
                             filters={"status": statuses, "kind": filters.get("kind")})
    rules = recall_rules_get(organization=request.organization)
    return render(request, "recalls/recall_list.html", {
        "form": form, "recalls": recalls[:300],
        "rules": [(rule, RecallRuleForm(instance=rule, prefix=f"rule-{rule.pk}")) for rule in rules],
        "moves": [(status, RecallStatus(status).label)
                  for status in (RecallStatus.CONTACTED, RecallStatus.BOOKED, RecallStatus.DECLINED)],
    })


@role_required()
@require_POST
def recall_generate(request):
    created = recalls_generate(organization=request.organization)
    messages.success(request, _("%(count)s new recall(s) on the list.") % {"count": created})
    return redirect("recall-list")


@role_required()
@require_POST
def recall_status(request, pk):
    recall = get_scoped_or_404(Recall, request.organization, pk=pk)
    try:
        recall_status_set(recall=recall, status=request.POST.get("status", ""), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/recalls/") else "recall-list")


@role_required()
@require_POST
def recall_send(request, pk):
    recall = get_scoped_or_404(Recall.objects.select_related("patient", "message"), request.organization, pk=pk)
    try:
        recall_send_whatsapp(recall=recall, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Recall message queued for %(patient)s.") % {"patient": recall.patient.full_name})
    return redirect("recall-list")


@role_required(*MANAGER_ROLES)
@require_POST
def recall_rule_edit(request, pk):
    rule = get_scoped_or_404(RecallRule, request.organization, pk=pk)
    form = RecallRuleForm(request.POST, instance=RecallRule.objects.get(pk=rule.pk), prefix=f"rule-{rule.pk}")
    if form.is_valid():
        try:
            recall_rule_update(rule=rule, data=form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Recall rule saved."))
    else:
        messages.error(request, " ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items()))
    return redirect("recall-list")

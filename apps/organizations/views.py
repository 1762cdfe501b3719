from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.organizations.middleware import SESSION_KEY
from apps.organizations.models import MANAGER_ROLES, Membership, Role
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404, scoped
from apps.organizations.selectors import api_token_list_for_user, membership_get
from apps.organizations.services import (
    api_token_revoke,
    membership_role_change,
    organization_prescription_setting_set,
)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class PrescriptionSettingForm(forms.Form):
    staff_prescription_drafts = forms.BooleanField(required=False)


@login_required
@require_POST
def organization_switch(request):
    membership = membership_get(user=request.user, organization_id=request.POST.get("organization"))
    if membership is None:
        raise Http404
    request.session[SESSION_KEY] = membership.organization_id
    messages.success(request, _("You are now working in %(name)s.") % {"name": membership.organization.name})
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)


@role_required()
def member_list(request):
    members = scoped(Membership, request.organization).select_related("user").order_by("user__full_name")
    return render(request, "organizations/member_list.html", {"members": members, "roles": Role.choices})


@role_required(*MANAGER_ROLES)
@require_POST
def member_role_change(request, pk):
    member = get_scoped_or_404(Membership, request.organization, pk=pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("member-list")
    try:
        membership_role_change(membership=member, role=form.cleaned_data["role"], actor=request.membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Role updated for %(name)s.") % {"name": member.user})
    return redirect("member-list")


@role_required(*MANAGER_ROLES)
@require_POST
def organization_prescription_setting(request):
    form = PrescriptionSettingForm(request.POST)
    form.is_valid()  # a missing checkbox is "off": the form cannot be invalid
    organization_prescription_setting_set(organization=request.organization,
                                          staff_drafts=form.cleaned_data["staff_prescription_drafts"])
    if form.cleaned_data["staff_prescription_drafts"]:
        messages.success(request, _("Staff may now write prescription drafts; only optometrists finalize them."))
    else:
        messages.success(request, _("Only optometrists write prescriptions."))
    return redirect("member-list")


@login_required
def api_token_list(request):
    """The signed-in user's API tokens, each revocable (a password change revokes them all)."""
    return render(request, "organizations/api_token_list.html",
                  {"tokens": api_token_list_for_user(user=request.user)})


@login_required
@require_POST
def api_token_revoke_view(request, pk):
    token = get_object_or_404(api_token_list_for_user(user=request.user), pk=pk)
    api_token_revoke(token=token)
    messages.success(request, _("Token revoked: the programs that used it must sign in again."))
    return redirect("api-token-list")

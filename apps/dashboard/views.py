import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.appointments.models import AppointmentStatus
from apps.dashboard import selectors
from apps.dashboard.forms import PeriodForm
from apps.notifications.models import StaffAlert
from apps.notifications.services import staff_alert_handle
from apps.orders.dashboard import shop_figures
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.recalls.selectors import recall_conversion


@login_required
def home(request):
    organization = getattr(request, "organization", None)
    if organization is None:
        return render(request, "dashboard/home.html", {})
    today = selectors.local_today(organization=organization)
    tomorrow = today + dt.timedelta(days=1)
    form = PeriodForm(request.GET or None)
    first, last = form.period(today=today)
    start, _end = selectors.local_day_bounds(organization=organization, day=first)
    _start, end = selectors.local_day_bounds(organization=organization, day=last)
    by_status = selectors.appointments_by_status(organization=organization, day=today)
    funnel = selectors.reminder_funnel(organization=organization, start=start, end=end)
    weeks = selectors.no_show_by_week(organization=organization, start=start, end=end)
    alerts = selectors.staff_alerts_open(organization=organization)
    context = {
        "today": today, "tomorrow": tomorrow, "form": form, "period": (first, last),
        "status_rows": [(status, AppointmentStatus(status).label, by_status[status]) for status in by_status],
        "today_total": sum(by_status.values()),
        "confirmations": [
            (today, _("Today"), selectors.confirmation_summary(organization=organization, day=today)),
            (tomorrow, _("Tomorrow"), selectors.confirmation_summary(organization=organization, day=tomorrow)),
        ],
        "session": selectors.whatsapp_session(organization=organization),
        "funnel": funnel,
        "chart_data": {
            "funnel": {
                "labels": [_("Reminders"), _("Sent"), _("Delivered"), _("Read"), _("Confirmed")],
                "values": [funnel["reminders"], funnel["sent"], funnel["delivered"], funnel["read"],
                           funnel["confirmed"]],
            },
            "no_show": {
                "labels": [w["week"].isoformat() for w in weeks],
                "with": [w["with_rate"] for w in weeks],
                "without": [w["without_rate"] for w in weeks],
                "label_with": _("With a confirmed reminder"),
                "label_without": _("Without a confirmed reminder"),
            },
        },
        "weeks": weeks,
        "alerts": alerts[:5],
        "alert_count": alerts.count(),
        "shop": shop_figures(organization=organization, first=first, last=last),
        "recalls": recall_conversion(organization=organization, start=start, end=end),
    }
    return render(request, "dashboard/home.html", context)


@role_required()
def alert_list(request):
    return render(request, "dashboard/alerts.html", {
        "alerts": selectors.staff_alerts_open(organization=request.organization)[:200],
        "handled": selectors.staff_alerts_recently_handled(organization=request.organization),
    })


@role_required()
@require_POST
def alert_handle(request, pk):
    """Any member of the front desk may mark an alert handled (the notifications app's service)."""
    alert = get_scoped_or_404(StaffAlert, request.organization, pk=pk)
    staff_alert_handle(alert=alert, user=request.user)
    messages.success(request, _("Alert marked as handled."))
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return redirect("alert-list")
    return redirect(next_url)

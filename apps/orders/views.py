from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.appointments.models import EventSource
from apps.common.exceptions import ApplicationError
from apps.orders import selectors
from apps.orders.forms import (
    DayForm,
    LabForm,
    OrderFilterForm,
    OrderForm,
    OrderLineForm,
    PaymentForm,
    ShopSettingsForm,
)
from apps.orders.models import CLOSED_STATUSES, Lab, Order, OrderLine, OrderStatus
from apps.orders.receipts import receipt_filename, receipt_pdf
from apps.orders.services import (
    lab_create,
    lab_update,
    order_create,
    order_line_add,
    order_line_remove,
    order_receipt_send,
    order_status_change,
    order_update,
    payment_record,
    shop_settings_get,
    shop_settings_update,
)
from apps.orders.transitions import FORWARD_STATUSES, status_can_move
from apps.organizations.models import MANAGER_ROLES
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.forms import form_service_call
from apps.patients.models import Prescription


def _order(request, pk) -> Order:
    return get_scoped_or_404(selectors.with_totals(Order.objects.select_related("patient", "prescription", "lab")),
                             request.organization, pk=pk)


@role_required()
def order_list(request):
    form = OrderFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    status = filters.get("status")
    statuses = [status] if status else [s for s in OrderStatus.values if s not in CLOSED_STATUSES]
    orders = selectors.order_list(organization=request.organization,
                                  filters={"status": statuses, "overdue": filters.get("overdue")})
    today = selectors.local_today(organization=request.organization)
    return render(request, "orders/order_list.html", {
        "form": form, "orders": orders[:300], "today": today,
        "overdue_count": selectors.orders_overdue_at_lab(organization=request.organization).count(),
    })


@role_required()
def order_create_view(request, prescription_pk):
    prescription = get_scoped_or_404(Prescription.objects.select_related("patient"), request.organization,
                                     pk=prescription_pk)
    form = OrderForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        order = form_service_call(form, lambda: order_create(
            organization=request.organization, prescription=prescription, data=form.data_for_service(),
            actor=request.user, source=EventSource.UI))
        if order is not None:
            messages.success(request, _("Order %(order)s created.") % {"order": order.reference})
            return redirect("order-detail", pk=order.pk)
    return render(request, "orders/order_form.html", {"form": form, "prescription": prescription,
                                                      "patient": prescription.patient},
                  status=400 if form.errors else 200)


@role_required()
def order_edit(request, pk):
    order = _order(request, pk)
    form = OrderForm(request.POST or None, instance=Order.objects.get(pk=order.pk), organization=request.organization)
    if request.method == "POST" and form.is_valid():
        saved = form_service_call(form, lambda: order_update(
            order=Order.objects.get(pk=order.pk), data=form.data_for_service(), actor=request.user))
        if saved is not None:
            messages.success(request, _("Order saved."))
            return redirect("order-detail", pk=order.pk)
    return render(request, "orders/order_form.html", {"form": form, "order": order, "prescription": order.prescription,
                                                      "patient": order.patient},
                  status=400 if form.errors else 200)


def _detail(request, order, *, line_form=None, payment_form=None, status=200):
    return render(request, "orders/order_detail.html", {
        "order": order, "patient": order.patient,
        "lines": order.lines.all(), "payments": order.payments.select_related("received_by"),
        "events": order.events.select_related("actor"),
        "order_messages": order.order_messages.select_related("message"),
        "line_form": line_form or OrderLineForm(currency=order.currency),
        "payment_form": payment_form or PaymentForm(currency=order.currency,
                                                    initial={"amount": order.balance or None}),
        "moves": [(s, OrderStatus(s).label) for s in FORWARD_STATUSES if status_can_move(order.status, s)],
        "can_cancel": status_can_move(order.status, OrderStatus.CANCELLED),
        "can_return_to_lab": order.status == OrderStatus.RECEIVED,
        "is_overdue": selectors.order_is_overdue(order=order),
    }, status=status)


@role_required()
def order_detail(request, pk):
    return _detail(request, _order(request, pk))


@role_required()
@require_POST
def order_status(request, pk):
    order = _order(request, pk)
    try:
        order_status_change(order=order, to_status=request.POST.get("status", ""), actor=request.user,
                            source=EventSource.UI)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The order is now: %(status)s.") % {"status": order.get_status_display()})
        note = order.events.order_by("-id").values_list("note", flat=True).first()
        if note:
            messages.warning(request, note)
    return redirect("order-detail", pk=order.pk)


@role_required()
@require_POST
def order_line_add_view(request, pk):
    order = _order(request, pk)
    form = OrderLineForm(request.POST, currency=order.currency)
    if form.is_valid():
        line = form_service_call(form, lambda: order_line_add(
            order=order, kind=form.cleaned_data["kind"], description=form.cleaned_data["description"],
            quantity=form.cleaned_data["quantity"], unit_price=form.cleaned_data["unit_price"],
            discount=form.cleaned_data["discount"] or 0))
        if line is not None:
            return redirect("order-detail", pk=order.pk)
    return _detail(request, _order(request, pk), line_form=form, status=400)


@role_required()
@require_POST
def order_line_remove_view(request, pk, line_pk):
    order = _order(request, pk)
    line = get_scoped_or_404(OrderLine.objects.select_related("order"), request.organization, pk=line_pk,
                             order=order)
    try:
        order_line_remove(line=line)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("order-detail", pk=order.pk)


@role_required()
@require_POST
def order_payment_add(request, pk):
    order = _order(request, pk)
    form = PaymentForm(request.POST, currency=order.currency)
    if form.is_valid():
        payment = form_service_call(form, lambda: payment_record(
            order=order, amount=form.cleaned_data["amount"], method=form.cleaned_data["method"],
            reference=form.cleaned_data["reference"], actor=request.user))
        if payment is not None:
            messages.success(request, _("Payment of %(amount)s recorded.") % {"amount": order.money(payment.amount)})
            return redirect("order-detail", pk=order.pk)
    return _detail(request, _order(request, pk), payment_form=form, status=400)


@role_required()
def order_ticket(request, pk):
    order = _order(request, pk)
    return render(request, "orders/order_ticket.html", {"order": order, "prescription": order.prescription,
                                                        "patient": order.patient, "lines": order.lines.all()})


@role_required()
def order_receipt(request, pk):
    order = _order(request, pk)
    response = HttpResponse(receipt_pdf(order=order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt_filename(order=order)}"'
    return response


@role_required()
@require_POST
def order_receipt_send_view(request, pk):
    order = _order(request, pk)
    try:
        order_receipt_send(order=order, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The receipt is queued for sending by WhatsApp."))
    return redirect("order-detail", pk=order.pk)


@role_required()
def lab_list(request):
    form = LabForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        lab = form_service_call(form, lambda: lab_create(organization=request.organization, **form.cleaned_data))
        if lab is not None:
            messages.success(request, _("Lab %(name)s added.") % {"name": lab.name})
            return redirect("lab-list")
    labs = Lab.objects.filter(organization=request.organization).order_by("-is_active", "name")
    return render(request, "orders/lab_list.html", {"form": form, "labs": labs}, status=400 if form.errors else 200)


@role_required()
def lab_edit(request, pk):
    lab = get_scoped_or_404(Lab, request.organization, pk=pk)
    form = LabForm(request.POST or None, instance=Lab.objects.get(pk=lab.pk))
    if request.method == "POST" and form.is_valid():
        saved = form_service_call(form, lambda: lab_update(lab=lab, data=form.cleaned_data))
        if saved is not None:
            messages.success(request, _("Lab saved."))
            return redirect("lab-list")
    return render(request, "orders/lab_form.html", {"form": form, "lab": lab}, status=400 if form.errors else 200)


@role_required(*MANAGER_ROLES)
def shop_settings(request):
    current = shop_settings_get(organization=request.organization)
    form = ShopSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        saved = form_service_call(form, lambda: shop_settings_update(organization=request.organization,
                                                                      data=form.cleaned_data))
        if saved is not None:
            messages.success(request, _("Shop settings saved."))
            return redirect("shop-settings")
    return render(request, "orders/shop_settings.html", {"form": form}, status=400 if form.errors else 200)


@role_required()
def cash_report(request):
    form = DayForm(request.GET or None)
    day = (form.cleaned_data.get("day") if form.is_valid() else None) or selectors.local_today(
        organization=request.organization)
    report = selectors.cash_report(organization=request.organization, day=day)
    return render(request, "orders/cash_report.html", {
        "form": form, "report": report,
        "currency": selectors.shop_currency(organization=request.organization),
    })

"""The wording of the shop's WhatsApp messages, from the clinic's templates (notifications app)."""

from __future__ import annotations

from apps.notifications.models import TemplateKind
from apps.notifications.rendering import context_for, language_for, template_body
from apps.notifications.templating import render_template
from apps.orders.selectors import order_totals


def order_context(*, order, language: str) -> dict[str, str]:
    from apps.orders.services import shop_settings_get

    context = context_for(organization=order.organization, patient=order.patient, language=language)
    context.update(order=order.reference, balance_due=order.money(order_totals(order=order)["balance"]),
                   opening_hours=shop_settings_get(organization=order.organization).opening_hours)
    return context


def order_ready_body(*, order) -> str:
    language = language_for(order.patient)
    body = template_body(organization=order.organization, kind=TemplateKind.ORDER_READY, language=language)
    return render_template(body, order_context(order=order, language=language))

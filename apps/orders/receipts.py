"""The receipt of an order as a PDF (fpdf2, pure Python): what was sold, what was paid, what is due."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from apps.orders.selectors import order_totals


def _latin(text: str) -> str:
    # The PDF core fonts speak Latin-1: Spanish fits; anything else degrades to "?" instead of failing.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def receipt_filename(*, order) -> str:
    return f"recibo-{order.organization.slug}-{order.number}.pdf"


def receipt_pdf(*, order) -> bytes:
    organization, zone = order.organization, order.organization.zone
    totals = order_totals(order=order)
    pdf = FPDF(format=(148, 210))  # A5, in millimetres
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_creator("OpticaApp")
    pdf.set_title(_latin(_("Receipt %(order)s") % {"order": order.reference}))
    pdf.add_page()

    def line(text, *, size=9, style="", align="L", height=5):
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(0, height, _latin(text), align=align, new_x="LMARGIN", new_y="NEXT")

    line(organization.name, size=14, style="B")
    for detail in (organization.address, organization.phone):
        if detail:
            line(detail)
    pdf.ln(3)
    line(_("Receipt · order %(order)s") % {"order": order.reference}, size=12, style="B")
    line(_("Date: %(date)s") % {"date": timezone.now().astimezone(zone).strftime("%Y-%m-%d %H:%M")})
    line(_("Patient: %(name)s · %(document)s") % {"name": order.patient.full_name,
                                                  "document": order.patient.document_number})
    pdf.ln(3)

    widths = (70, 12, 22, 24)
    pdf.set_font("Helvetica", style="B", size=9)
    for width, title in zip(widths, (_("Item"), _("Qty"), _("Discount"), _("Amount")), strict=True):
        pdf.cell(width, 6, _latin(title), border="B", align="L" if width == widths[0] else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for item in order.lines.all():
        pdf.cell(widths[0], 6, _latin(item.description[:45]))
        pdf.cell(widths[1], 6, str(item.quantity), align="R")
        pdf.cell(widths[2], 6, _latin(order.money(item.discount) if item.discount else ""), align="R")
        pdf.cell(widths[3], 6, _latin(order.money(item.total)), align="R")
        pdf.ln()
    pdf.ln(2)
    for label, amount, style in ((_("Total"), totals["total"], "B"), (_("Paid"), totals["paid"], ""),
                                 (_("Balance due"), totals["balance"], "B")):
        pdf.set_font("Helvetica", style=style, size=10)
        pdf.cell(sum(widths[:3]), 6, _latin(label), align="R")
        pdf.cell(widths[3], 6, _latin(order.money(amount)), align="R")
        pdf.ln()

    payments = list(order.payments.all())
    if payments:
        pdf.ln(3)
        line(_("Payments"), size=10, style="B")
        for payment in payments:
            when = payment.received_at.astimezone(zone).strftime("%Y-%m-%d")
            line(f"{when} · {payment.get_method_display()} · {payment.get_kind_display()} · "
                 f"{order.money(payment.amount)}")
    pdf.ln(4)
    line(_("Thank you for your purchase."), align="C")
    return bytes(pdf.output())

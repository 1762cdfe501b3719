from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from apps.patients.phones import phone_display

register = template.Library()


@register.simple_tag
def patient_row(p):
    """One row of the patient list and its searches. A simple tag rather than template markup, as the inbox's
    and the calendar's rows are: the template engine spent more on a row's tags and filters than on its data.
    The markup is the template's, to the byte."""
    inactive = "" if p.is_active else f' <span class="badge text-bg-secondary">{escape(_("inactive"))}</span>'
    if p.can_receive_whatsapp:
        whatsapp = f'<i class="bi bi-check-circle text-success" title="{escape(_("Can receive WhatsApp"))}"></i>'
    elif p.whatsapp_opted_out:
        whatsapp = f'<span class="badge text-bg-warning">{escape(_("opted out"))}</span>'
    else:
        whatsapp = '<span class="text-muted">—</span>'
    age = p.age
    return mark_safe(  # noqa: S308 - every value is escaped here
        f'<tr data-patient="{p.pk}">\n'
        f'    <td><a href="{escape(reverse("patient-detail", args=[p.pk]))}">{escape(p.last_name)},'
        f" {escape(p.first_name)}</a>{inactive}</td>\n"
        f"    <td>{escape(p.document_type)} {escape(p.document_number)}</td>\n"
        f"    <td>{escape(phone_display(p.phone))}</td>\n"
        f"    <td>{'' if age is None else age}</td>\n"
        f"    <td>{whatsapp}</td>\n"
        "  </tr>"
    )

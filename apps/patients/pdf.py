"""The printable prescription as a PDF document (fpdf2, pure Python), to send by WhatsApp."""

from __future__ import annotations

from django.utils import formats
from django.utils.translation import gettext as _
from fpdf import FPDF

from apps.patients.models import Prescription
from apps.patients.phones import phone_display
from apps.patients.templatetags.optical import diopters


def _latin1(text) -> str:
    # The PDF's built-in fonts cover Latin-1 (all of Spanish); anything else becomes "?"
    # rather than failing the whole document.
    return str(text or "").encode("latin-1", "replace").decode("latin-1")


def _date(value) -> str:
    return formats.date_format(value, "DATE_FORMAT") if value else ""


def prescription_pdf_filename(prescription: Prescription) -> str:
    issued = prescription.issued_on or prescription.created_at.date()
    return f"{_('prescription')}-{issued:%Y-%m-%d}.pdf"


def prescription_pdf(*, prescription: Prescription) -> bytes:
    """The same content as the print page: clinic, patient, both eyes, notes, validity, prescriber."""
    organization, patient = prescription.organization, prescription.patient
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{_('Prescription')} · {patient.full_name}"))
    pdf.set_author(_latin1(organization.name))
    pdf.set_creator("OpticaApp")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 8, _latin1(organization.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    contact = " · ".join(filter(None, [organization.address, phone_display(organization.phone or "")]))
    pdf.cell(0, 5, _latin1(contact), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 12)
    title = _("Contact lens prescription") if prescription.is_contact_lens else _("Spectacle prescription")
    pdf.cell(0, 7, _latin1(f"{title}  {_date(prescription.issued_on)}"), new_x="LMARGIN", new_y="NEXT")
    if prescription.is_draft:
        pdf.set_text_color(176, 42, 55)
        pdf.cell(0, 6, _latin1(_("Draft: not valid until an optometrist finalizes it.")), new_x="LMARGIN",
                 new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.set_font("helvetica", "", 10)
    who = f"{_('Patient')}: {patient.full_name} · {patient.get_document_type_display()} {patient.document_number}"
    pdf.cell(0, 7, _latin1(who), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    headers = [_("Sphere"), _("Cylinder"), _("Axis"), _("Add"), _("Prism"), _("Distance VA"), _("Near VA")]
    headers += [_("Base curve"), _("Diameter")] if prescription.is_contact_lens else [_("PD")]
    rows = []
    for label, eye in prescription.eyes:
        row = [label, diopters(eye["sphere"]), diopters(eye["cylinder"]), f"{eye['axis']}°" if eye["axis"] else "",
               diopters(eye["add"]), f"{eye['prism']} {eye['prism_base']}" if eye["prism"] else "",
               eye["va_distance"], eye["va_near"]]
        if prescription.is_contact_lens:
            row += [eye["base_curve"] or "", eye["diameter"] or ""]
        else:
            row += [eye["pd"] or ""]
        rows.append(row)
    with pdf.table(text_align="CENTER", first_row_as_headings=True) as table:
        for values in [["", *headers], *rows]:
            line = table.row()
            for value in values:
                line.cell(_latin1(value))
    pdf.ln(3)
    if prescription.pd:
        pdf.cell(0, 6, _latin1(f"{_('Binocular PD')}: {prescription.pd} mm"), new_x="LMARGIN", new_y="NEXT")
    if prescription.is_contact_lens and any(eye["brand"] for _label, eye in prescription.eyes):
        brands = " · ".join(f"{label}: {eye['brand']}" for label, eye in prescription.eyes if eye["brand"])
        pdf.cell(0, 6, _latin1(f"{_('Brand')}: {brands}"), new_x="LMARGIN", new_y="NEXT")
    if prescription.notes:
        pdf.multi_cell(0, 6, _latin1(f"{_('Notes')}: {prescription.notes}"), new_x="LMARGIN", new_y="NEXT")
    if prescription.expires_on:
        pdf.cell(0, 6, _latin1(f"{_('Valid until')}: {_date(prescription.expires_on)}"), new_x="LMARGIN",
                 new_y="NEXT")
    pdf.ln(18)
    pdf.cell(70, 0, "", border="T", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, _latin1(prescription.prescriber.get_full_name() if prescription.prescriber else ""),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 8)
    pdf.cell(0, 5, _latin1(_("Optometrist")), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())

import re
import unicodedata

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from apps.organizations.models import Membership, Organization, Role
from apps.organizations.scoping import scoped
from apps.patients.models import (
    AuditEvent,
    Patient,
    Prescription,
    PrescriptionStatus,
    Visit,
    search_name_expression,
)
from apps.patients.phones import phone_parse

_PHONE_OR_DOCUMENT = re.compile(r"^[+(\d][\d\s().\-]*$")


def text_fold(value: str) -> str:
    """Lower case without accents, as `immutable_unaccent(lower(...))` folds names in the database."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def patient_list(*, organization: Organization, filters: dict | None = None) -> QuerySet[Patient]:
    filters = filters or {}
    queryset = scoped(Patient, organization)
    if filters.get("query"):
        queryset = patient_search(organization=organization, query=filters["query"], include_inactive=True)
    if filters.get("is_active") is not None:
        queryset = queryset.filter(is_active=filters["is_active"])
    if filters.get("whatsapp_consent") is not None:
        queryset = queryset.filter(whatsapp_consent=filters["whatsapp_consent"])
    if filters.get("document_number"):
        queryset = queryset.filter(document_number__iexact=filters["document_number"])
    if filters.get("phone"):
        queryset = queryset & patients_by_phone(organization=organization, phone=filters["phone"])
    return queryset


def patient_search(*, organization: Organization, query: str, include_inactive: bool = False) -> QuerySet[Patient]:
    """What the front desk types: a name in any case and with or without accents ("jose pena" finds
    "José Peña", words in any order), the start of a document number, or a phone in any format.

    Uses the trigram indexes over `immutable_unaccent(lower(first_name || ' ' || last_name))`,
    `lower(document_number)` and `phone`, so it stays fast on 100k patients."""
    queryset = scoped(Patient, organization)
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    query = " ".join((query or "").split())
    if not query:
        return queryset

    folded = text_fold(query)
    if _PHONE_OR_DOCUMENT.match(query):
        # Digits are never in a name: only the document and phone indexes are worth reading.
        compact = re.sub(r"[\s.]", "", query).lower()
        condition = Q(document_lower__startswith=compact)
        digits = re.sub(r"\D", "", query)
        e164 = phone_parse(query, region=organization.default_phone_region)
        if e164:
            condition |= Q(phone=e164)
        if len(digits) >= 4:
            condition |= Q(phone__contains=digits)
        rank = Value(1)
    else:
        condition = Q()
        for word in folded.split(" "):
            condition &= Q(search_name__contains=word)
        condition |= Q(document_lower__startswith=query.lower())
        # Whole-name prefix matches first, then the usual alphabetical order.
        rank = Case(When(search_name__startswith=folded, then=Value(0)), default=Value(1),
                    output_field=IntegerField())

    return (
        queryset.alias(search_name=search_name_expression(), document_lower=Lower("document_number"))
        .filter(condition)
        .annotate(search_rank=rank)
        .order_by("search_rank", "last_name", "first_name", "pk")
    )


def patients_by_phone(*, organization: Organization, phone: str) -> QuerySet[Patient]:
    """Patients of the clinic on this phone, in any format ("+57 300…", "3001234567", "573001234567").

    Several patients may share one phone (a family): matching a WhatsApp reply gets all of them, the
    active ones first."""
    e164 = phone_parse(phone, region=organization.default_phone_region)
    if e164 is None:
        return scoped(Patient, organization).none()
    return scoped(Patient, organization).filter(phone=e164).order_by("-is_active", "last_name", "first_name", "pk")


def patients_by_phones(*, organization: Organization, phones) -> dict[str, list[Patient]]:
    """patients_by_phone for many phones in one query: each phone as given -> its patients, same order."""
    parsed = {phone: phone_parse(phone, region=organization.default_phone_region) for phone in set(phones)}
    found: dict[str, list[Patient]] = {}
    numbers = {e164 for e164 in parsed.values() if e164 is not None}
    if numbers:
        for patient in (scoped(Patient, organization).filter(phone__in=numbers)
                        .order_by("-is_active", "last_name", "first_name", "pk")):
            found.setdefault(patient.phone, []).append(patient)
    return {phone: list(found.get(e164, [])) if e164 is not None else [] for phone, e164 in parsed.items()}


def patient_ids_by_phones(*, organization: Organization, phones) -> dict[str, list[int]]:
    """patients_by_phones with only the patients' ids (one query, no model instances), in the same order."""
    parsed = {phone: phone_parse(phone, region=organization.default_phone_region) for phone in set(phones)}
    found: dict[str, list[int]] = {}
    numbers = {e164 for e164 in parsed.values() if e164 is not None}
    if numbers:
        for pk, phone in (scoped(Patient, organization).filter(phone__in=numbers)
                          .order_by("-is_active", "last_name", "first_name", "pk").values_list("pk", "phone")):
            found.setdefault(phone, []).append(pk)
    return {phone: list(found.get(e164, [])) if e164 is not None else [] for phone, e164 in parsed.items()}


def patient_get(*, organization: Organization, pk) -> Patient | None:
    return scoped(Patient, organization).filter(pk=pk).first()


def visit_list(*, organization: Organization, filters: dict | None = None) -> QuerySet[Visit]:
    filters = filters or {}
    queryset = scoped(Visit, organization).select_related("patient", "optometrist", "signed_by")
    if filters.get("patient"):
        queryset = queryset.filter(patient_id=filters["patient"])
    if filters.get("optometrist"):
        queryset = queryset.filter(optometrist_id=filters["optometrist"])
    if filters.get("signed") is not None:
        queryset = queryset.filter(signed_at__isnull=not filters["signed"])
    if filters.get("date_from"):
        queryset = queryset.filter(visit_date__gte=filters["date_from"])
    if filters.get("date_to"):
        queryset = queryset.filter(visit_date__lte=filters["date_to"])
    return queryset


def prescription_list(*, organization: Organization, filters: dict | None = None) -> QuerySet[Prescription]:
    filters = filters or {}
    queryset = scoped(Prescription, organization).select_related("patient", "prescriber")
    for name in ("patient", "visit"):
        if filters.get(name):
            queryset = queryset.filter(**{f"{name}_id": filters[name]})
    for name in ("status", "kind"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset


def prescription_current(*, patient: Patient, kind: str) -> Prescription | None:
    """The patient's prescription in force of this kind (spectacles or contact lenses)."""
    return Prescription.objects.filter(patient=patient, kind=kind, status=PrescriptionStatus.FINAL).first()


def audit_events_for_patient(*, patient: Patient, limit: int = 30) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(organization_id=patient.organization_id, patient=patient)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def optometrists_for_organization(*, organization: Organization):
    """Users who may sign visits and finalize prescriptions in this clinic."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        memberships__organization=organization, memberships__role=Role.OPTOMETRIST, memberships__is_active=True,
        is_active=True,
    ).order_by("full_name", "email")


def is_optometrist(*, user, organization: Organization) -> bool:
    return Membership.objects.filter(user=user, organization=organization, role=Role.OPTOMETRIST,
                                     is_active=True).exists()


def may_write_prescription_drafts(*, user, organization: Organization) -> bool:
    """Optometrists; every active member too when the clinic allows staff drafts."""
    if user is None or not user.is_authenticated:
        return False
    if organization.staff_prescription_drafts:
        return Membership.objects.filter(user=user, organization=organization, is_active=True).exists()
    return is_optometrist(user=user, organization=organization)

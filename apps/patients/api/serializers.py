from rest_framework import serializers

from apps.organizations.scoping import scoped
from apps.patients.models import Patient, Prescription, Visit, VisitAddendum
from apps.patients.selectors import optometrists_for_organization
from apps.patients.services import PATIENT_FIELDS
from opticaapp.api import DayField


class ScopedRelationsMixin:
    """Related objects can only be picked among the caller's organization's own rows."""

    scoped_relations: dict = {}

    def get_fields(self):
        fields = super().get_fields()
        # None while drf-spectacular builds the schema: then no object can be picked.
        organization = getattr(self.context.get("request"), "organization", None)
        for name, model in self.scoped_relations.items():
            if name in fields and not fields[name].read_only:
                fields[name].queryset = scoped(model, organization)
        if "optometrist" in fields and not fields["optometrist"].read_only:
            fields["optometrist"].queryset = (optometrists_for_organization(organization=organization)
                                              if organization else fields["optometrist"].queryset.none())
        return fields


class PatientSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    can_receive_whatsapp = serializers.BooleanField(read_only=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32,
                                  help_text="Any format; stored in E.164 using the clinic's default region.")

    class Meta:
        model = Patient
        fields = ["id", *PATIENT_FIELDS, "full_name", "whatsapp_consent_at", "whatsapp_opted_out",
                  "whatsapp_opted_out_at", "can_receive_whatsapp", "created_at", "updated_at"]
        read_only_fields = ["whatsapp_consent_at", "whatsapp_opted_out", "whatsapp_opted_out_at", "created_at",
                            "updated_at"]


class PatientFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, help_text="Name (accents and case ignored), document or phone.")
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    whatsapp_consent = serializers.BooleanField(required=False, allow_null=True, default=None)
    document_number = serializers.CharField(required=False)
    phone = serializers.CharField(required=False, help_text="Any format: all patients sharing this phone.")


class AddendumSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitAddendum
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class VisitSerializer(ScopedRelationsMixin, serializers.ModelSerializer):
    scoped_relations = {"patient": Patient}
    is_signed = serializers.BooleanField(read_only=True)
    addenda = AddendumSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "patient", "optometrist", "visit_date", "reason", "anamnesis", "findings", "diagnosis",
                  "plan", "is_signed", "signed_at", "signed_by", "addenda", "created_at", "updated_at"]
        read_only_fields = ["signed_at", "signed_by", "created_at", "updated_at"]
        extra_kwargs = {"visit_date": {"required": False}}


class VisitFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False)
    optometrist = serializers.IntegerField(required=False)
    signed = serializers.BooleanField(required=False, allow_null=True, default=None)
    date_from = DayField(required=False)
    date_to = DayField(required=False)


class PrescriptionSerializer(ScopedRelationsMixin, serializers.ModelSerializer):
    scoped_relations = {"patient": Patient, "visit": Visit}

    class Meta:
        model = Prescription
        fields = ["id", "patient", "visit", "kind", "status", *Prescription.VALUE_FIELDS, "expires_on", "notes",
                  "prescriber", "finalized_at", "issued_on", "supersedes", "created_at", "updated_at"]
        read_only_fields = ["status", "prescriber", "finalized_at", "issued_on", "supersedes", "created_at",
                            "updated_at"]


class PrescriptionFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False)
    visit = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=Prescription._meta.get_field("status").choices, required=False)
    kind = serializers.ChoiceField(choices=Prescription._meta.get_field("kind").choices, required=False)

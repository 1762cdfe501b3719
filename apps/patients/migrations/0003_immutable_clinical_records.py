from django.db import migrations

# Signed visits, final and superseded prescriptions and addenda are legal records: the database itself
# refuses to change them, whatever code path tries. SQLSTATE 23000 surfaces in Django as IntegrityError.
SQL = """
CREATE OR REPLACE FUNCTION patients_visit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        IF TG_OP = 'DELETE' OR (to_jsonb(NEW) - 'updated_at') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at') THEN
            RAISE EXCEPTION 'visit % is signed and cannot be changed; add an addendum', OLD.id
                USING ERRCODE = '23000';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER patients_visit_immutable BEFORE UPDATE OR DELETE ON patients_visit
    FOR EACH ROW EXECUTE FUNCTION patients_visit_immutable();

CREATE OR REPLACE FUNCTION patients_prescription_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' THEN
        IF TG_OP = 'DELETE'
           OR (to_jsonb(NEW) - 'updated_at' - 'status') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at' - 'status')
           OR (NEW.status <> OLD.status AND NOT (OLD.status = 'final' AND NEW.status = 'superseded')) THEN
            RAISE EXCEPTION 'prescription % is % and cannot be changed', OLD.id, OLD.status
                USING ERRCODE = '23000';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER patients_prescription_immutable BEFORE UPDATE OR DELETE ON patients_prescription
    FOR EACH ROW EXECUTE FUNCTION patients_prescription_immutable();

CREATE OR REPLACE FUNCTION patients_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME USING ERRCODE = '23000';
END $$;

CREATE TRIGGER patients_visitaddendum_append_only BEFORE UPDATE OR DELETE ON patients_visitaddendum
    FOR EACH ROW EXECUTE FUNCTION patients_append_only();
CREATE TRIGGER patients_auditevent_append_only BEFORE UPDATE OR DELETE ON patients_auditevent
    FOR EACH ROW EXECUTE FUNCTION patients_append_only();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS patients_auditevent_append_only ON patients_auditevent;
DROP TRIGGER IF EXISTS patients_visitaddendum_append_only ON patients_visitaddendum;
DROP TRIGGER IF EXISTS patients_prescription_immutable ON patients_prescription;
DROP TRIGGER IF EXISTS patients_visit_immutable ON patients_visit;
DROP FUNCTION IF EXISTS patients_append_only();
DROP FUNCTION IF EXISTS patients_prescription_immutable();
DROP FUNCTION IF EXISTS patients_visit_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_clinical_optical_audit")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]

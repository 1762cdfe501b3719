from django.urls import path

from apps.patients.views import clinical, imports, optical, patients

urlpatterns = [
    path("patients/", patients.patient_list, name="patient-list"),
    path("patients/new/", patients.patient_create_view, name="patient-create"),
    path("patients/import/", imports.patient_import_upload, name="patient-import"),
    path("patients/import/<int:pk>/", imports.patient_import_preview_view, name="patient-import-preview"),
    path("patients/import/<int:pk>/progress/", imports.patient_import_progress, name="patient-import-progress"),
    path("patients/import/<int:pk>/confirm/", imports.patient_import_confirm_view, name="patient-import-confirm"),
    path("patients/export/", imports.patient_export, name="patient-export"),
    path("patients/<int:pk>/", patients.patient_detail, name="patient-detail"),
    path("patients/<int:pk>/edit/", patients.patient_update_view, name="patient-update"),
    path("patients/<int:pk>/whatsapp/opt-out/", patients.patient_whatsapp_opt_out_view,
         name="patient-whatsapp-opt-out"),
    path("patients/<int:pk>/whatsapp/opt-in/", patients.patient_whatsapp_opt_in_view, name="patient-whatsapp-opt-in"),
    path("patients/<int:patient_pk>/visits/new/", clinical.visit_create_view, name="visit-create"),
    path("visits/<int:pk>/", clinical.visit_detail, name="visit-detail"),
    path("visits/<int:pk>/edit/", clinical.visit_update_view, name="visit-update"),
    path("visits/<int:pk>/sign/", clinical.visit_sign_view, name="visit-sign"),
    path("visits/<int:pk>/addenda/", clinical.visit_addendum_create_view, name="visit-addendum-create"),
    path("patients/<int:patient_pk>/prescriptions/new/", optical.prescription_create_view, name="prescription-create"),
    path("prescriptions/<int:pk>/", optical.prescription_detail, name="prescription-detail"),
    path("prescriptions/<int:pk>/edit/", optical.prescription_update_view, name="prescription-update"),
    path("prescriptions/<int:pk>/finalize/", optical.prescription_finalize_view, name="prescription-finalize"),
    path("prescriptions/<int:pk>/print/", optical.prescription_print, name="prescription-print"),
    path("prescriptions/<int:pk>/send-whatsapp/", optical.prescription_send_whatsapp,
         name="prescription-send-whatsapp"),
]

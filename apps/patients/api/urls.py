from django.urls import path

from apps.patients.api import views

urlpatterns = [
    path("patients/", views.PatientListCreateApi.as_view(), name="patient-list"),
    path("patients/<int:pk>/", views.PatientDetailApi.as_view(), name="patient-detail"),
    path("visits/", views.VisitListCreateApi.as_view(), name="visit-list"),
    path("visits/<int:pk>/", views.VisitDetailApi.as_view(), name="visit-detail"),
    path("visits/<int:pk>/sign/", views.VisitSignApi.as_view(), name="visit-sign"),
    path("visits/<int:pk>/addenda/", views.VisitAddendumCreateApi.as_view(), name="visit-addendum-create"),
    path("prescriptions/", views.PrescriptionListCreateApi.as_view(), name="prescription-list"),
    path("prescriptions/<int:pk>/", views.PrescriptionDetailApi.as_view(), name="prescription-detail"),
    path("prescriptions/<int:pk>/finalize/", views.PrescriptionFinalizeApi.as_view(), name="prescription-finalize"),
]

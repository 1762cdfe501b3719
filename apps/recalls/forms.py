from django import forms
from django.utils.translation import gettext_lazy as _

from apps.recalls.models import RecallKind, RecallRule, RecallStatus


class RecallFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("To work (to contact or contacted)")), *RecallStatus.choices],
                               widget=forms.Select(attrs={"class": "form-select"}))
    kind = forms.ChoiceField(label=_("Rule"), required=False, choices=[("", _("All")), *RecallKind.choices],
                             widget=forms.Select(attrs={"class": "form-select"}))


class RecallRuleForm(forms.ModelForm):
    class Meta:
        model = RecallRule
        fields = ["months", "is_enabled"]

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.inbox.models import CannedReply


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.inbox.models import CannedReply
from apps.notifications.forms import validate_upload_size


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    content = forms.FileField(label=_("File"), required=False, validators=[validate_upload_size])


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

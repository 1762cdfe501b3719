from types import SimpleNamespace

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from apps.common.validation import validate_day_in_range
from apps.notifications.models import (
    Direction,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    NotificationSettings,
    ReminderRule,
    Weekday,
)
from apps.notifications.templating import (
    validate_meta_language,
    validate_meta_parameters,
    validate_meta_template_name,
    validate_template_body,
)


class SettingsForm(forms.ModelForm):
    closed_days = forms.TypedMultipleChoiceField(label=_("Closed days"), choices=Weekday.choices, coerce=int,
                                                 required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = NotificationSettings
        fields = ["whatsapp_enabled", "quiet_start", "quiet_end", "closed_days", "confirm_keywords",
                  "cancel_keywords", "callback_keywords", "no_response_hours", "notify_booked", "notify_moved",
                  "notify_cancelled"]
        widgets = {"quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if (start is None) != (end is None) and not self.has_error("quiet_start") and not self.has_error("quiet_end"):
            self.add_error("quiet_end" if end is None else "quiet_start",
                           _("Give both ends of the quiet hours, or neither."))
        elif start is not None and start == end:
            self.add_error("quiet_end", _("Quiet hours must start and end at different times."))
        return data


class RuleForm(forms.ModelForm):
    class Meta:
        model = ReminderRule
        fields = ["lead_hours", "skip_within_hours", "is_enabled"]

    def clean(self):
        data = super().clean()
        lead, skip = data.get("lead_hours"), data.get("skip_within_hours")
        if lead is not None and not 1 <= lead <= 720:
            self.add_error("lead_hours", _("The lead time must be between 1 and 720 hours."))
        elif lead is not None and skip is not None and skip >= lead:
            self.add_error("skip_within_hours", _("\"Don't send within\" must be shorter than the lead time."))
        return data


class TemplateForm(forms.Form):
    body = forms.CharField(label=_("Text"), max_length=1000, widget=forms.Textarea(attrs={"rows": 5}),
                           validators=[validate_template_body])
    meta_template_name = forms.CharField(label=_("Meta template name"), max_length=512, required=False,
                                         validators=[validate_meta_template_name],
                                         help_text=MessageTemplate._meta.get_field("meta_template_name").help_text)
    meta_language = forms.CharField(label=_("Meta template language"), max_length=15, required=False,
                                    validators=[validate_meta_language],
                                    help_text=MessageTemplate._meta.get_field("meta_language").help_text)
    meta_parameters = forms.CharField(label=_("Meta template parameters"), max_length=500, required=False,
                                      validators=[validate_meta_parameters],
                                      help_text=MessageTemplate._meta.get_field("meta_parameters").help_text)
    meta_quick_replies = forms.BooleanField(label=_("The Meta template has the quick-reply buttons Confirm, "
                                                    "Cancel and Call me, in this order"), required=False)

    META_FIELDS = ("meta_template_name", "meta_language", "meta_parameters", "meta_quick_replies")

    @property
    def meta_form(self):
        """The Cloud API fields alone, in the shape _form_fields.html renders."""
        return SimpleNamespace(non_field_errors=[], hidden_fields=[],
                               visible_fields=[self[name] for name in self.META_FIELDS])

    def clean(self):
        data = super().clean()
        if data.get("meta_template_name") and not data.get("meta_language") and not self.has_error("meta_language"):
            self.add_error("meta_language", _("Give the language the template was approved in."))
        return data


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status"))] + MessageStatus.choices)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any kind"))] + MessageKind.choices)
    direction = forms.ChoiceField(label=_("Direction"), required=False,
                                  choices=[("", _("Both directions"))] + Direction.choices)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                validators=[validate_day_in_range])
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              validators=[validate_day_in_range])


class FreeTextForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=4096, widget=forms.Textarea(attrs={"rows": 3}))


def validate_upload_size(upload):
    """Refused before it is read into memory; the type is checked from the content later."""
    if upload is not None and upload.size > settings.WHATSAPP_MEDIA_MAX_BYTES:
        raise forms.ValidationError(_("The file is larger than %(max)s.")
                                    % {"max": filesizeformat(settings.WHATSAPP_MEDIA_MAX_BYTES)})


ACCEPTED_FILES = "image/*,application/pdf,.docx,.xlsx,audio/*,video/mp4"


class MediaSendForm(forms.Form):
    content = forms.FileField(
        label=_("File"), help_text=_("An image, a PDF or Word document, an audio or a video."),
        validators=[validate_upload_size], widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_FILES}))
    caption = forms.CharField(label=_("Caption"), max_length=4096, required=False,
                              widget=forms.TextInput(attrs={"placeholder": _("Optional")}))


LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


class AmbiguousReplyForm(forms.Form):
    """Which of the waiting appointments an answer from a shared phone was about."""

    appointment = forms.TypedChoiceField(label=_("Appointment"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment"].choices = [(a.pk, a.pk) for a in candidates]

from django import forms
from django.conf import settings
from django.utils.text import normalize_newlines
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant

from ..models import Message


class MessageForm(forms.Form):
    """A learner's message: asked, or edited to regenerate the answer."""

    content = forms.CharField(
        label=_("Your message"),
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Ask the assistant…")}),
        error_messages={"required": _("Write a message first.")},
    )

    def clean_content(self) -> str:
        content = normalize_newlines(self.cleaned_data["content"])  # browsers send textarea lines as CRLF
        limit = settings.CHAT_MESSAGE_MAX_CHARS
        if len(content) > limit:
            raise forms.ValidationError(
                _("The message is too long: at most %(limit)d characters (it has %(length)d)."),
                params={"limit": limit, "length": len(content)},
            )
        return content


class AskForm(MessageForm):
    """A new question, with the assistant to ask (new dialogs) and, in the playground, a model.

    The assistants are the course's, as the view read them (with their providers): choosing one
    costs no query of its own."""

    assistant = forms.TypedChoiceField(label=_("Assistant"), choices=(), required=False, empty_value=None)
    model = forms.CharField(
        label=_("Model"),
        required=False,
        max_length=200,
        help_text=_("To compare answers, name another model; leave empty to use the assistant's own."),
        widget=forms.TextInput(attrs={"list": "catalog-models", "autocomplete": "off"}),
    )

    def __init__(self, *args, assistants: list[Assistant], playground: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.assistants = {str(assistant.pk): assistant for assistant in assistants}
        field = self.fields["assistant"]
        field.choices = [("", "---------"), *((key, str(a)) for key, a in self.assistants.items())]
        if len(assistants) == 1:
            field.initial = assistants[0].pk
            field.widget = forms.HiddenInput()
        if not playground:
            del self.fields["model"]

    def clean_assistant(self) -> Assistant | None:
        key = self.cleaned_data.get("assistant")
        if key is not None:
            return self.assistants[key]
        if len(self.assistants) > 1:
            raise forms.ValidationError(_("Choose an assistant."))
        return next(iter(self.assistants.values()), None)


class FeedbackForm(forms.Form):
    value = forms.TypedChoiceField(choices=Message.Feedback.choices, coerce=int)

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import normalize_newlines
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant
from core.images import CleanImage, ImageRefused, check_count, check_size, clean_image

from ..models import Message


class MultipleImageInput(forms.FileInput):
    allow_multiple_selected = True


class ImagesField(forms.FileField):
    """Images attached to a question: each checked by its content (core.images.clean_image), within
    the count and size limits of the settings. Cleans to a list of CleanImage."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}))
        super().__init__(required=False, **kwargs)

    def clean(self, data, initial=None) -> list[CleanImage]:
        uploads = [upload for upload in (data if isinstance(data, (list, tuple)) else [data]) if upload]
        try:
            check_count(len(uploads))
        except ImageRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from None
        cleaned = []
        for upload in uploads:
            try:
                check_size(upload.size)  # before reading a byte of it
                cleaned.append(clean_image(upload.read()))
            except ImageRefused as refused:
                raise forms.ValidationError(
                    "%(name)s: %(reason)s", params={"name": upload.name, "reason": refused.message}, code=refused.code
                ) from None
        return cleaned


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
    """A new question, with its images, the assistant to ask (new dialogs) and, in the playground,
    a model. A question may be images alone.

    The assistants are the course's, as the view read them (with their providers): choosing one
    costs no query of its own."""

    images = ImagesField(label=_("Attach images"))

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
        self.fields["content"].required = False  # (see clean)
        self.fields["images"].help_text = _("PNG, JPEG, WebP or GIF; at most %(count)s images of %(size)s each.") % {
            "count": settings.CHAT_IMAGE_MAX_COUNT,
            "size": filesizeformat(settings.CHAT_IMAGE_MAX_BYTES),
        }
        self.assistants = {str(assistant.pk): assistant for assistant in assistants}
        field = self.fields["assistant"]
        field.choices = [("", "---------"), *((key, str(a)) for key, a in self.assistants.items())]
        if len(assistants) == 1:
            field.initial = assistants[0].pk
            field.widget = forms.HiddenInput()
        if not playground:
            del self.fields["model"]

    def clean(self):
        cleaned = super().clean()
        nothing = not cleaned.get("content") and not cleaned.get("images")  # images alone are a question
        if nothing and "content" not in self.errors and "images" not in self.errors:
            self.add_error("content", self.fields["content"].error_messages["required"])
        return cleaned

    def clean_assistant(self) -> Assistant | None:
        key = self.cleaned_data.get("assistant")
        if key is not None:
            return self.assistants[key]
        if len(self.assistants) > 1:
            raise forms.ValidationError(_("Choose an assistant."))
        return next(iter(self.assistants.values()), None)


class FeedbackForm(forms.Form):
    value = forms.TypedChoiceField(choices=Message.Feedback.choices, coerce=int)

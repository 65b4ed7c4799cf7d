"""Images in training examples: OpenAI's vision fine-tuning format, its limits and their tokens.

A user message's `content` may be a list of parts (OpenAI's vision fine-tuning guide)::

    [{"type": "text", "text": "What is this?"},
     {"type": "image_url", "image_url": {"url": "data:image/png;base64,…" | "https://…",
                                         "detail"?: "low" | "high" | "auto"}}]

OpenAI's rules, checked here: images in user messages only; JPEG, PNG or WebP; RGB or RGBA; at
most 10 MB each; at most 64 an example (Azure OpenAI's guide; an older text of OpenAI's said 10);
at most 50,000 examples with images a file; the base model must train on images. A data URL is
read (its header only) for its format, mode and size, which give its tokens (`llm.vision`). An
https URL cannot be checked from here (and its tokens are not counted): OpenAI downloads it when
the job starts. Nor can gradcap tell what an image shows: OpenAI leaves out of training the
images that show people, faces, children or CAPTCHAs (`SKIPPED_IMAGES_NOTE`).
"""

import hashlib

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.images import ImageRefused, data_url_size, from_data_url, image_header, is_data_url
from llm.vision import image_tokens

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
IMAGE_MODES = ("RGB", "RGBA")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGES_PER_EXAMPLE = 64
MAX_IMAGE_EXAMPLES = 50_000  # examples with images in one training file
DETAILS = ("low", "high", "auto")
SKIPPED_IMAGES_NOTE = gettext_lazy(
    "OpenAI leaves out of training the images that show people, faces, children or CAPTCHAs; "
    "gradcap cannot check for them."
)


def content_images(content: object) -> list[dict]:
    """The `image_url` objects among a message's content parts."""
    if not isinstance(content, list):
        return []
    return [p.get("image_url") for p in content if isinstance(p, dict) and p.get("type") == "image_url"]


def content_text(content: object) -> str:
    """A message's text: its content, or the text of its parts joined by newlines (as the checks read it)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    )


def example_has_images(example: object) -> bool:
    """Whether a supervised example or DPO pair holds an image part: what a trainer of a text-only
    base model must refuse (the self-hosted backend asks before it trains)."""
    if not isinstance(example, dict):
        return False
    prompt = example.get("input")
    messages = example.get("messages") if "messages" in example else (prompt or {}).get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict) and content_images(m.get("content")) for m in messages
    )


def image_examples_refusal(examples, *, multimodal: bool, model: str) -> str | None:
    """Why a self-hosted base model may not train on `examples`: None unless some hold images and
    the base model is not registered as seeing images (`training.BaseModel.multimodal`). The same
    words as the trainer's refusal (`trainer.protocol.MULTIMODAL`), said before a run is queued.
    (The trainer renders text only so far: it refuses image parts for any base model.)"""
    if multimodal or not any(example_has_images(example) for example in examples):
        return None
    return _("The examples hold images, and %(model)s is not registered as a base model that sees images.") % {
        "model": model
    }


class PartChecks:
    """The checks of content parts, mixed into `inspection.Inspection` (its `error`, `warning`,
    token count and fingerprints)."""

    def _check_parts(self, content: list, role: object, index: int) -> tuple[str, bool]:
        """(the text of the parts, whether an empty text is fine: there is an image, or a broken part
        already reported); errors noted."""
        texts, images, broken = [], 0, False
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url":
                images += 1
                if role != "user":
                    self.error(
                        "image_not_in_user_message",
                        _("Only user messages may hold images; OpenAI refuses images in other messages."),
                        index,
                    )
                self._check_image(part.get("image_url"), index)
            else:
                message = _("Each part of “content” must be {“type”: “text”, “text”: …} or {“type”: “image_url”, …}.")
                self.error("bad_content_part", message, index)
                broken = True
        self.images += images
        return "\n".join(texts), images > 0 or broken

    def _check_image(self, image: object, index: int) -> None:
        url = image.get("url") if isinstance(image, dict) else None
        detail = image.get("detail", "auto") if isinstance(image, dict) else "auto"
        if detail not in DETAILS:
            self.error("bad_image_detail", _("An image's “detail” must be low, high or auto."), index)
            detail = "auto"
        if isinstance(url, str):
            self.exact_parts.append(url)
            self.image_keys.append(hashlib.blake2b(url.encode(), digest_size=8).digest())
        if isinstance(url, str) and url.startswith("https://"):
            message = _(
                "gradcap cannot check an image given by its URL nor count its tokens; OpenAI downloads it when "
                "training starts and leaves the example out if it cannot."
            )
            self.warning("image_not_checked", message, index)
        elif not is_data_url(url):
            message = _("An image must be a data URL (data:image/…;base64,…) or an https URL.")
            self.error("bad_image_url", message, index)
        elif (size := data_url_size(url)) > MAX_IMAGE_BYTES:
            message = _("The image is %(size)s; OpenAI trains on images of at most %(limit)s.") % {
                "size": filesizeformat(size),
                "limit": filesizeformat(MAX_IMAGE_BYTES),
            }
            self.error("image_too_large", message, index)
        else:
            self._check_image_data(url, detail, index)

    def _check_image_data(self, url: str, detail: str, index: int) -> None:
        try:
            _media_type, data = from_data_url(url, limit=MAX_IMAGE_BYTES)
            header = image_header(data)
        except ImageRefused as refused:
            self.error(
                "image_unreadable", _("The image cannot be read: %(reason)s") % {"reason": refused.message}, index
            )
            return
        if header.media_type not in IMAGE_TYPES:
            message = _("Images must be JPEG, PNG or WebP; this one is %(type)s.") % {"type": header.media_type}
            self.error("image_format", message, index)
        elif header.mode not in IMAGE_MODES:
            message = _("The image's colours are in %(mode)s mode; OpenAI trains on RGB or RGBA images only.") % {
                "mode": header.mode
            }
            self.error("image_mode", message, index)
        if self.count_tokens:
            self.fixed_tokens += image_tokens(self.image_cost, header.width, header.height, detail)

    def _check_image_count(self) -> None:
        if self.images > MAX_IMAGES_PER_EXAMPLE:
            message = _("The example has %(count)s images; OpenAI trains on at most %(limit)s an example.") % {
                "count": self.images,
                "limit": MAX_IMAGES_PER_EXAMPLE,
            }
            self.error("too_many_images", message)

"""A question's images, served to those who may read its dialog (never from a public URL)."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from ..access import get_message_image_for_user
from ..models import chat_images_storage
from . import images as question_images


def _media_type(name: str) -> str:
    """What a stored file is, by the extension gradcap gave it (dialogs.chat.images.EXTENSIONS)."""
    extension = name.rsplit(".", 1)[-1]
    return next(media_type for media_type, known in question_images.EXTENSIONS.items() if known == extension)


@require_GET
@login_required
def message_image(request: HttpRequest, slug: str, dialog_id: int, image_id: int, thumbnail: bool = False):
    """A question's image (or its thumbnail), to whoever may read the dialog; never a public URL."""
    image = get_message_image_for_user(request.user, slug, dialog_id, image_id)
    stored = image.thumbnail if thumbnail else image.file
    try:
        opened = chat_images_storage().open(stored.name, "rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(opened, content_type=_media_type(stored.name))
    response["Cache-Control"] = "private, max-age=86400"  # the file behind an id never changes
    response["Content-Disposition"] = "inline"
    return response

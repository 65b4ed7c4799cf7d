from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def chat_url(name: str, course, *, playground: bool, dialog=None, message=None) -> str:
    """URL of a chat or playground view: {% chat_url "stream" course playground=playground dialog=d message=m %}."""
    kwargs = {"slug": course.slug}
    if dialog is not None:
        kwargs["dialog_id"] = dialog.pk
    if message is not None:
        kwargs["message_id"] = message.pk
    return reverse(f"dialogs:{'playground' if playground else 'chat'}_{name}", kwargs=kwargs)

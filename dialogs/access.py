"""The only ways dialogs' views reach course objects: `get_<object>_for_user`, each answering 404
— for another course's objects as for missing ones — to whoever lacks the role it states (see
courses.access). Curators (and admins) reach every dialog, dataset and example of their courses;
in the chat and the playground everyone reaches only their own dialogs."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import User
from courses.access import CourseAccess, access_for, get_course_for_user, member_role
from courses.models import Membership

from .models import Dataset, Dialog, Example, Message, MessageImage, Transfer

CURATOR = Membership.Role.CURATOR


def get_dialog_for_user(user: User, slug: str, dialog_id: int) -> tuple[CourseAccess, Dialog]:
    """Any recorded dialog of the course, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    return access, get_object_or_404(Dialog.objects.select_related("assistant"), course=access.course, pk=dialog_id)


def get_dataset_for_user(user: User, slug: str, dataset_id: int) -> tuple[CourseAccess, Dataset]:
    """One of the course's datasets, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    datasets = Dataset.objects.select_related("assistant")
    return access, get_object_or_404(datasets, course=access.course, pk=dataset_id)


def get_example_for_user(user: User, slug: str, dataset_id: int, example_id: int) -> tuple[CourseAccess, Example]:
    """An example of one of the course's datasets, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    examples = Example.objects.select_related("dataset__assistant")
    example = get_object_or_404(examples, dataset__course=access.course, dataset_id=dataset_id, pk=example_id)
    return access, example


def get_transfer_for_user(
    user: User, slug: str, dataset_id: int, transfer_id: int
) -> tuple[CourseAccess, Dataset, Transfer]:
    """An import or export of one of the course's datasets, for its curators only; an upload
    waiting for confirmation for its uploader only."""
    access, dataset = get_dataset_for_user(user, slug, dataset_id)
    transfers = dataset.transfers.select_related("dataset__assistant", "created_by")
    found = get_object_or_404(transfers, pk=transfer_id)
    if found.kind == Transfer.Kind.IMPORT and found.status == Transfer.Status.UPLOADED and found.created_by != user:
        raise Http404  # an upload waiting for confirmation is its uploader's alone
    return access, dataset, found


# The chat (every member) and the playground (curators): a user's own dialogs only.


def _chat_role(playground: bool) -> str | None:
    return CURATOR if playground else None


def get_chat_course_for_user(user: User, slug: str, *, playground: bool) -> CourseAccess:
    """The course, for the chat: every member; for the playground: curators only."""
    return get_course_for_user(user, slug, role=_chat_role(playground))


def chat_dialogs_for_user(user: User, access: CourseAccess, *, playground: bool) -> QuerySet[Dialog]:
    """The user's own dialogs in the chat or the playground (learners never see others' chats)."""
    source = Dialog.Source.PLAYGROUND if playground else Dialog.Source.CHAT
    return Dialog.objects.filter(course=access.course, user=user, source=source).select_related("assistant")


def get_chat_dialog_for_user(user: User, slug: str, dialog_id: int, *, playground: bool) -> tuple[CourseAccess, Dialog]:
    """A dialog of the user's own, in the chat (members) or the playground (curators only)."""
    access = get_chat_course_for_user(user, slug, playground=playground)
    return access, get_object_or_404(chat_dialogs_for_user(user, access, playground=playground), pk=dialog_id)


def get_chat_message_for_user(
    user: User,
    slug: str,
    dialog_id: int,
    message_id: int,
    *,
    playground: bool,
    message_role: str | None = None,
) -> tuple[CourseAccess, Message]:
    """A message of the user's own dialog (as get_chat_dialog_for_user); with `message_role`, only
    an active message of that role."""
    access, dialog = get_chat_dialog_for_user(user, slug, dialog_id, playground=playground)
    messages = dialog.messages.select_related("dialog__assistant")
    if message_role is not None:
        messages = messages.filter(role=message_role, replaced_at__isnull=True)
    return access, get_object_or_404(messages, pk=message_id)


def get_chat_answer_for_user(
    user: User, slug: str, dialog_id: int, message_id: int, *, playground: bool
) -> tuple[CourseAccess, Message]:
    """The active answer of the user's own dialog that a stream opens (members; the playground's:
    curators only), with its dialog, assistant, provider and course.

    One query reads the answer and the user's role in its course together, then `access_for`
    applies the same rules as get_course_for_user: everything before the first token stays lean."""
    source = Dialog.Source.PLAYGROUND if playground else Dialog.Source.CHAT
    answer = (
        Message.objects.select_related("dialog__assistant__provider", "dialog__course")
        .annotate(member_role=member_role(user, "dialog__course"))
        .filter(pk=message_id, dialog_id=dialog_id, role=Message.Role.ASSISTANT, replaced_at__isnull=True)
        .filter(dialog__course__slug=slug, dialog__user=user, dialog__source=source, dialog__assistant__isnull=False)
        .first()
    )
    if answer is None:
        raise Http404
    return access_for(user, answer.dialog.course, answer.member_role, role=_chat_role(playground)), answer


def get_message_image_for_user(user: User, slug: str, dialog_id: int, image_id: int) -> MessageImage:
    """An image of a question, for whoever may read its dialog: the dialog's own user (in the chat
    or the playground) and the course's curators (its records)."""
    access = get_course_for_user(user, slug)
    images = MessageImage.objects.filter(
        pk=image_id, message__dialog_id=dialog_id, message__dialog__course=access.course
    ).select_related("message")
    if not access.is_curator:
        images = images.filter(message__dialog__user=user)
    return get_object_or_404(images)

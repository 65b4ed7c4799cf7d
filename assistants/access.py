"""How assistants' views reach an assistant: `get_<object>_for_user`, 404 for anyone who may not
see it (see courses.access)."""

from django.shortcuts import get_object_or_404

from accounts.models import User
from courses.access import CourseAccess, get_course_for_user
from courses.models import Membership

from .models import Assistant


def get_assistant_for_user(user: User, slug: str, assistant_id: int) -> tuple[CourseAccess, Assistant]:
    """One of the course's assistants, for its curators only."""
    access = get_course_for_user(user, slug, role=Membership.Role.CURATOR)
    assistants = Assistant.objects.select_related("course", "provider")
    return access, get_object_or_404(assistants, course=access.course, pk=assistant_id)

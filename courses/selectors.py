from accounts.models import User

from .access import CourseAccess
from .models import Course, Membership


def course_accesses_for_user(*, user: User) -> list[CourseAccess]:
    """The courses a user may open, with the role they have in each (admins: curator of all)."""
    if user.is_site_admin:
        return [CourseAccess(course=course, role=Membership.Role.CURATOR) for course in Course.objects.all()]
    memberships = (
        Membership.objects.filter(user=user)
        .exclude(course__is_active=False, role=Membership.Role.LEARNER)
        .select_related("course")
        .order_by("course__title")
    )
    return [CourseAccess(course=m.course, role=m.role) for m in memberships]

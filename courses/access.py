"""The one place that decides who may open a course. Every view that reaches a course object
goes through `course_for_user`, usually via a private `_get_course_for_user` helper of its app."""

from dataclasses import dataclass

from django.http import Http404

from accounts.models import User

from .models import Course, Membership


@dataclass(frozen=True)
class CourseAccess:
    course: Course
    role: str  # Membership.Role value; admins act as curators

    @property
    def is_curator(self) -> bool:
        return self.role == Membership.Role.CURATOR


def course_for_user(user: User, slug: str, *, role: str | None = None) -> CourseAccess:
    """Return the course with this slug and the user's role in it.

    Raises Http404 — never 403, so strangers cannot tell which courses exist — when the user is
    not a member, when `role` is given and the user lacks it, or when a learner opens an
    inactive course. Admins open every course as curators.
    """
    if not user.is_authenticated:
        raise Http404
    # Members are the common case: one query finds the course and the role together.
    membership = Membership.objects.select_related("course").filter(user=user, course__slug=slug).first()
    if membership is not None:
        course, member_role = membership.course, membership.role
    elif user.is_site_admin:
        course, member_role = Course.objects.filter(slug=slug).first(), Membership.Role.CURATOR
    else:
        raise Http404
    if course is None:
        raise Http404
    if not course.is_active and member_role != Membership.Role.CURATOR:
        raise Http404
    if role is not None and member_role != role:
        raise Http404
    return CourseAccess(course=course, role=member_role)

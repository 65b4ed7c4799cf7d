"""The one place that decides who may open a course.

The convention, in every app: a view reaches a course object only through its app's `access.py`,
`get_<object>_for_user(user, slug, ...)`, which answers 404 — for another course's objects as for
missing ones — and states the role it requires (`role=`, or the docstring). They all start from
`get_course_for_user`; where one query must fetch an object and the user's role together (the
chat's stream), `member_role` + `access_for` apply the same rules."""

from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
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


def access_for(user: User, course: Course | None, member_role: str | None, *, role: str | None = None) -> CourseAccess:
    """The access rules, given the user's membership role in `course` (None: not a member).

    Raises Http404 — never 403, so strangers cannot tell which courses exist — when the user is
    not a member, when `role` is given and the user lacks it, or when a learner opens an
    inactive course. Admins open every course as curators.
    """
    if course is None or not user.is_authenticated:
        raise Http404
    if member_role is None:
        if not user.is_site_admin:
            raise Http404
        member_role = Membership.Role.CURATOR
    if not course.is_active and member_role != Membership.Role.CURATOR:
        raise Http404
    if role is not None and member_role != role:
        raise Http404
    return CourseAccess(course=course, role=member_role)


def get_course_for_user(user: User, slug: str, *, role: str | None = None) -> CourseAccess:
    """Return the course with this slug and the user's role in it, or raise Http404. Any member
    may open it; with `role`, only members with that role (admins count as curators)."""
    if not user.is_authenticated:
        raise Http404
    # Members are the common case: one query finds the course and the role together.
    membership = Membership.objects.select_related("course").filter(user=user, course__slug=slug).first()
    if membership is not None:
        return access_for(user, membership.course, membership.role, role=role)
    return access_for(user, Course.objects.filter(slug=slug).first(), None, role=role)


def member_role(user: User, course_path: str = "course") -> Subquery:
    """Annotation: the user's membership role in the course at `course_path`, for `access_for`."""
    return Subquery(Membership.objects.filter(course=OuterRef(course_path), user=user).values("role")[:1])

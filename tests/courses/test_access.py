import pytest
from django.http import Http404

from courses.access import get_course_for_user
from courses.models import Membership


def test_it_gives_a_member_their_role(course, curator, learner):
    assert get_course_for_user(curator, course.slug).role == Membership.Role.CURATOR
    assert get_course_for_user(learner, course.slug).role == Membership.Role.LEARNER


def test_it_404s_for_a_stranger(course, stranger):
    with pytest.raises(Http404):
        get_course_for_user(stranger, course.slug)


def test_it_404s_for_a_curator_of_another_course(course, other_curator):
    with pytest.raises(Http404):
        get_course_for_user(other_curator, course.slug)


def test_it_404s_for_an_unknown_course(curator):
    with pytest.raises(Http404):
        get_course_for_user(curator, "no-such-course")


def test_it_404s_when_the_role_is_required_and_missing(course, learner):
    with pytest.raises(Http404):
        get_course_for_user(learner, course.slug, role=Membership.Role.CURATOR)


def test_it_hides_an_inactive_course_from_learners_only(course, curator, learner):
    course.is_active = False
    course.save()
    with pytest.raises(Http404):
        get_course_for_user(learner, course.slug)
    assert get_course_for_user(curator, course.slug).is_curator


def test_it_lets_admins_act_as_curators_everywhere(course, site_admin):
    access = get_course_for_user(site_admin, course.slug, role=Membership.Role.CURATOR)
    assert access.course == course


def test_it_404s_for_anonymous_users(course):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        get_course_for_user(AnonymousUser(), course.slug)

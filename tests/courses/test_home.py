import pytest

pytestmark = pytest.mark.smoke


def test_it_sends_anonymous_users_to_log_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_lists_only_my_courses(client, course, other_course, learner):
    client.force_login(learner)
    response = client.get("/")
    assert response.status_code == 200
    assert course.title in response.text
    assert other_course.title not in response.text
    assert "You are a learner here." in response.text


def test_it_tells_a_user_without_courses_what_to_do(client, stranger):
    client.force_login(stranger)
    assert "not a member of any course yet" in client.get("/").text


def test_it_shows_admins_every_course(client, course, other_course, site_admin):
    client.force_login(site_admin)
    response = client.get("/")
    assert course.title in response.text and other_course.title in response.text


def test_it_hides_an_inactive_course_from_its_learners(client, course, learner):
    course.is_active = False
    course.save()
    client.force_login(learner)
    assert course.title not in client.get("/").text

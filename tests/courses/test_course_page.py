import pytest


def test_it_shows_members_to_curators(client, course, curator, learner):
    client.force_login(curator)
    response = client.get(f"/c/{course.slug}/")
    assert response.status_code == 200
    assert learner.email in response.text


def test_it_does_not_show_members_to_learners(client, course, curator, learner):
    client.force_login(learner)
    response = client.get(f"/c/{course.slug}/")
    assert response.status_code == 200
    assert curator.email not in response.text


@pytest.mark.smoke
def test_it_404s_for_a_curator_of_another_course(client, course, other_curator):
    client.force_login(other_curator)
    response = client.get(f"/c/{course.slug}/")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_it_escapes_course_text(client, course, curator):
    course.title = "<script>alert(1)</script>"
    course.description = "<img src=x onerror=alert(2)>"
    course.save()
    client.force_login(curator)
    text = client.get(f"/c/{course.slug}/").text
    assert "<script>alert(1)</script>" not in text
    assert "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text

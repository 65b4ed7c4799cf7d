import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_it_shows_a_learner_their_course_and_no_administration(page, course, learner):
    log_in(page, learner.email)
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    expect(page.locator("[data-nav=role]")).to_contain_text("Learner")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    page.get_by_role("link", name=course.title).click()
    expect(page.get_by_role("heading", name=course.title)).to_be_visible()
    expect(page.get_by_text("You are a learner here.")).to_be_visible()
    expect(page.get_by_role("heading", name="Members")).to_have_count(0)


def test_it_shows_a_curator_the_members(page, course, curator, learner):
    log_in(page, curator.email)
    expect(page.locator("[data-nav=role]")).to_contain_text("Curator")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    page.get_by_role("link", name="See the members").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    expect(page.get_by_role("cell", name=learner.email)).to_be_visible()


def test_it_gives_an_admin_the_administration(page, role_groups, course, other_course, site_admin):
    log_in(page, site_admin.email)
    expect(page.locator("[data-nav=role]")).to_contain_text("Admin")
    expect(page.get_by_role("link", name=course.title)).to_be_visible()
    expect(page.get_by_role("link", name=other_course.title)).to_be_visible()
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_role("link", name="Providers", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Memberships", exact=True)).to_be_visible()


def test_it_shows_a_learner_404_for_another_course(page, course, other_course, learner):
    log_in(page, learner.email)
    response = page.goto(f"/c/{other_course.slug}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_it_sends_a_visitor_to_the_login_page(page, course):
    page.goto(f"/c/{course.slug}/")
    expect(page).to_have_url(re.compile(rf"/accounts/login/\?next=/c/{course.slug}/$"))


@pytest.mark.smoke
def test_it_logs_out(page, learner):
    log_in(page, learner.email)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()


def test_it_a_first_visitor_of_the_demo_signs_in_as_a_curator_with_one_click(page, settings, role_groups):
    import io

    from accounts import demo
    from courses import demo as course_demo

    settings.DEMO_SIGN_IN = True
    demo.load(stdout=io.StringIO())
    course_demo.load(stdout=io.StringIO())
    page.goto("/")
    expect(page.get_by_role("heading", name="The gradcap demo")).to_be_visible()
    expect(page.get_by_text("gradcap trains a course's assistant on its own conversations")).to_be_visible()
    page.get_by_role("button", name="Sign in as Katya Curator (curator)").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    expect(page.locator("[data-nav=role]")).to_contain_text("Curator")


def test_it_the_admins_people_lists_fit_a_1280_px_window(page, role_groups, course, site_admin):
    from courses.models import Course, Membership
    from tests.conftest import make_user

    course.title = "Programming in Python for absolute beginners, autumn term"
    course.save()
    Course.objects.create(title="Data analysis with pandas", slug="pandas")
    for name in ("konstantin.konstantinopolsky", "maria-alexandra.rodriguez-gonzalez"):
        user = make_user(f"{name}@secondary-school-42.example.org")
        Membership.objects.create(course=course, user=user, role=Membership.Role.CURATOR)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, site_admin.email)
    for path, last_column in (("/admin/accounts/user/", "Last login"), ("/admin/courses/membership/", "Joined")):
        page.goto(path)
        results = page.locator("#changelist .results")
        assert results.evaluate("element => element.scrollWidth <= element.clientWidth"), path  # nothing cut off
        expect(page.get_by_role("columnheader", name=last_column)).to_be_in_viewport()

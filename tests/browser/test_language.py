from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_it_switches_to_russian_and_back(page, course, learner):
    log_in(page, learner.email)
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()

    page.get_by_label("Language").select_option("ru")
    expect(page.get_by_role("heading", name="Мои курсы")).to_be_visible()
    expect(page.get_by_text("Вы слушатель этого курса.")).to_be_visible()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()

    # The choice sticks on the next page.
    page.get_by_role("link", name=course.title).click()
    expect(page.get_by_role("link", name="Мои курсы").first).to_be_visible()

    page.get_by_label("Язык").select_option("en")
    expect(page.get_by_role("link", name="My courses").first).to_be_visible()

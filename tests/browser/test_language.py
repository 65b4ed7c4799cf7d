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


def test_it_the_new_dataset_form_has_no_english_left_in_russian(page, course, curator):
    """Django 6's own blank choice ("- Select an option -") has no Russian in Django's catalog: the
    product says its own words there, and ships a translation for Django's."""
    log_in(page, curator.email)
    page.get_by_label("Language").select_option("ru")
    expect(page.get_by_role("heading", name="Мои курсы")).to_be_visible()
    page.goto(f"/c/{course.slug}/datasets/")
    assistant = page.get_by_role("combobox", name="Ассистент")
    expect(assistant.locator("option").first).to_have_text("— выбрать позже —")
    expect(page.get_by_text("Select an option")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Select an option")

def test_it_shows_memberships_on_the_user_page_and_members_on_the_course_page(client, course, site_admin, learner):
    site_admin.is_superuser = True
    site_admin.save()
    client.force_login(site_admin)
    user_page = client.get(f"/admin/accounts/user/{learner.pk}/change/").text
    assert "Memberships" in user_page and course.title in user_page
    course_page = client.get(f"/admin/courses/course/{course.pk}/change/").text
    assert learner.email in course_page


def test_it_filters_users_by_course_role(client, course, site_admin, learner, curator):
    site_admin.is_superuser = True
    site_admin.save()
    client.force_login(site_admin)
    page = client.get("/admin/accounts/user/?memberships__role=curator").text
    assert curator.email in page
    assert learner.email not in page
    assert learner.email in client.get("/admin/accounts/user/?q=learner").text


def test_it_lets_an_admin_group_member_manage_courses_without_being_superuser(client, course, site_admin):
    client.force_login(site_admin)  # staff + the "admin" group, not a superuser
    assert client.get("/admin/courses/course/").status_code == 200
    assert client.get("/admin/llm/provider/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200

from django.contrib.auth.models import Group

from accounts.models import Role


def test_it_creates_one_group_per_role_with_permissions(db):
    groups = {group.name: group for group in Group.objects.all()}
    assert set(groups) >= {"admin", "curator", "learner"}
    admin_permissions = set(groups["admin"].permissions.values_list("codename", flat=True))
    assert {"change_user", "add_membership", "change_course", "change_provider"} <= admin_permissions
    curator_permissions = set(groups["curator"].permissions.values_list("codename", flat=True))
    assert "change_provider" not in curator_permissions
    assert not groups["learner"].permissions.exists()


def test_it_treats_the_admin_group_as_site_admins(site_admin, stranger):
    assert site_admin.is_site_admin
    assert not stranger.is_site_admin
    assert site_admin.groups.filter(name=Role.ADMIN).exists()

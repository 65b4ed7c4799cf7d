from django.template.loader import render_to_string


def test_it_renders_a_helpful_404(client, learner):
    client.force_login(learner)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Back to my courses" in response.text


def test_it_renders_the_500_page_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html


def test_it_renders_the_403_page(rf, learner):
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    request = rf.get("/")
    request.user = learner
    response = permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    assert "You may not do that" in response.content.decode()

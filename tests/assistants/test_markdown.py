from assistants.markdown import render_markdown, with_citation_marks


def test_it_renders_markdown():
    html = render_markdown("**Loops** repeat:\n\n```python\nfor i in range(3):\n    print(i)\n```")
    assert "<strong>Loops</strong>" in html
    assert "<pre><code" in html and "for i in range(3):" in html


def test_it_never_lets_html_or_script_through():
    html = render_markdown('<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))')
    assert "<script" not in html and "<img" not in html
    assert "javascript:" not in html.replace("[x](javascript:alert(3))", "")
    assert 'href="javascript' not in html


def test_it_marks_links_as_external():
    html = render_markdown("[docs](https://docs.python.org)")
    assert 'href="https://docs.python.org"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_it_puts_footnote_marks_where_the_provider_cited():
    text = "Loops repeat code. Functions name it."
    citations = [{"number": 1, "index": 18, "filename": "a.md"}, {"number": 2, "index": len(text), "filename": "b.md"}]
    assert with_citation_marks(text, citations) == "Loops repeat code. [1] Functions name it. [2]"

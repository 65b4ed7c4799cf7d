from dialogs.records.highlights import Part, excerpt


def _marked(parts: list[Part]) -> str:
    return "".join(f"[{part.text}]" if part.mark else part.text for part in parts)


def test_it_marks_words_by_their_start_as_the_full_text_search_finds_them():
    text = "Циклы for и while: цикл повторяет тело. Recycling is not a match."
    assert _marked(excerpt(text, "цикл", prefixes=True)) == (
        "[Циклы] for и while: [цикл] повторяет тело. Recycling is not a match."
    )
    assert _marked(excerpt(text, "for WHILE", prefixes=True)).startswith("Циклы [for] и [while]:")


def test_it_marks_the_search_text_anywhere_as_icontains_finds_it():
    assert _marked(excerpt("Recycling a CYCLE", "cycl", prefixes=False)) == "Re[cycl]ing a [CYCL]E"


def test_it_cuts_a_long_message_around_the_first_match_at_word_boundaries():
    text = " ".join(f"word{n}" for n in range(100)) + " needle " + " ".join(f"tail{n}" for n in range(100))
    parts = excerpt(text, "needle", prefixes=True)
    shown = _marked(parts)
    assert parts[0] == Part("… ") and parts[-1] == Part(" …")
    assert "[needle]" in shown
    words = shown.strip("… ").split()
    assert all(word.startswith(("word", "tail", "[needle]")) for word in words)  # no word cut in half
    assert len(shown) <= 200


def test_it_without_a_match_it_shows_the_start_and_joins_lines():
    assert excerpt("First line\r\nsecond   line", "absent", prefixes=True) == [Part("First line second line")]
    assert excerpt("Some text", "'&|!", prefixes=True) == [Part("Some text")]  # no words to mark

"""cardData: the YAML front matter of README.md, plain data only."""

from __future__ import annotations

from registry.resources.hf.cards import card_data


def test_front_matter_is_read_as_plain_data() -> None:
    card = b"---\nlicense: mit\ntags: [robust, fog]\nlibrary_name: transformers\ndate: 2024-01-02\n---\n# A model\n"
    assert card_data(card) == {
        "license": "mit",
        "tags": ["robust", "fog"],
        "library_name": "transformers",
        "date": "2024-01-02",
    }


def test_cards_without_usable_front_matter_have_no_card_data() -> None:
    for card in (
        b"# Only prose\n",
        b"---\nlicense: mit\n",  # never closed
        b"---\n- a list\n---\n",
        b"---\nkey: [unclosed\n---\n",
        b"---\n!!python/object/apply:os.system [echo hi]\n---\n",  # the safe loader builds no objects
        b"---\na: &x [1, 2]\nb: [*x, *x, *x]\n---\n",  # aliases could expand a small header into a huge one
    ):
        assert card_data(card) is None

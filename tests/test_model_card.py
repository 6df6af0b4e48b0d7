"""split_card: model-card figures resolved from the card's folder, headings pushed down
outside code blocks, front matter dropped; the shipped card's figures all exist."""

import pytest
from PIL import Image

from ganstyle.storage.model_card import IMAGE_LINK, demote_headings, split_card
from ganstyle.storage.hub import SHIPPED_MODEL

CARD = """---
library_name: ganstyle
---

# my-model

Intro.

![transfer](../../docs/transfer.png)

## How it was trained

```bash
# a shell comment, not a heading
ganstyle train --data styles
```

![gone](missing.png) ![web](https://example.com/a.png)

### Metrics
"""


def test_local_figures_come_out_with_absolute_paths(tmp_path):
    folder = tmp_path / "checkpoints" / "model"
    folder.mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "docs" / "transfer.png")
    text, images = split_card(CARD, folder)
    assert images == [("transfer", (tmp_path / "docs" / "transfer.png").resolve())]
    assert "../../docs" not in text and "missing.png" not in text  # no broken image left
    assert "![web](https://example.com/a.png)" in text  # web links stay
    assert "library_name" not in text and not text.startswith("---")
    assert "\n## my-model" in "\n" + text and "\n### How it was trained" in text and "\n#### Metrics" in text
    assert "\n# a shell comment, not a heading\n" in text  # code blocks untouched


def test_demote_headings_by_two_levels_and_tilde_fences():
    text = "# A\n~~~\n# code\n~~~\n## B"
    assert demote_headings(text, levels=2) == "### A\n~~~\n# code\n~~~\n#### B"


def test_every_figure_the_shipped_card_links_exists():
    card = SHIPPED_MODEL / "README.md"
    if not card.is_file():
        pytest.skip(f"no shipped model card at {card}")
    source = card.read_text(encoding="utf-8")
    local = [m.group(2) for m in IMAGE_LINK.finditer(source) if not m.group(2).startswith(("http", "data:"))]
    _, images = split_card(source, card.parent)
    assert len(images) == len(local), f"figures the card links but that do not exist: {local}"
    assert all(path.is_file() for _, path in images)

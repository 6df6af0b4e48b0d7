"""The README.md model card written beside an exported model (and shown on the Hub), and
reading one for display outside its folder.

A card links its figures relative to its own folder (`![transfer](../../docs/transfer.png)`),
which a web page cannot follow, and its headings start at `#`. `split_card` strips the front
matter, takes the local images out as (caption, path) pairs for the page to show itself, and
pushes the headings down under the page's own, leaving code blocks alone.
"""

import re
from pathlib import Path

IMAGE_LINK = re.compile(r'!\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)')
"""A Markdown image: ![caption](target "optional title")."""
FENCE = re.compile(r"^\s*(```|~~~)")


def render_model_card(index: dict, repo_id: str = None) -> str:
    """A README.md for a model folder: front matter for the Hub, styles, resolution, training
    data and metrics when the index carries them."""
    training = index.get("training", {})
    metrics = index.get("metrics")
    components = ", ".join(index["components"])
    lines = [
        "---",
        "library_name: ganstyle",
        "license: apache-2.0",
        "tags: [gan, stylegan2, stargan-v2, style-transfer, image-generation]",
        "pipeline_tag: image-to-image",
        "---",
        "",
        f"# {repo_id or 'ganstyle model'}",
        "",
        f"A [ganstyle](https://github.com/ganstyle/ganstyle) model ({components}) at "
        f"{index['resolution']}x{index['resolution']} px.",
        "",
        f"**Styles:** {', '.join(index['styles'])}",
        "",
        "```python",
        "from ganstyle import StylePipeline",
        f"pipe = StylePipeline.from_pretrained({(repo_id or 'path/to/folder')!r})",
        f"images = pipe.generate({index['styles'][-1]!r}, n=4, seed=0)",
        "```",
        "",
        "## Training",
        "",
    ]
    if training:
        lines += [f"- {key}: {value}" for key, value in sorted(training.items())]
    else:
        lines.append("Not recorded.")
    lines += ["", "## Metrics", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in sorted(metrics.items())]
    else:
        lines.append("Not measured yet (`ganstyle evaluate`).")
    return "\n".join(lines) + "\n"


def strip_front_matter(text: str) -> str:
    """`text` without a leading `---` YAML block (the Hub's metadata)."""
    if text.startswith("---"):
        parts = text.split("---", 2)
        if len(parts) == 3:
            return parts[2].lstrip("\n")
    return text


def demote_headings(text: str, levels: int = 1) -> str:
    """Every Markdown heading `levels` levels deeper; lines inside fenced code blocks (such as
    `# comments` in a shell block) are left as they are."""
    lines, in_code = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            line = "#" * levels + line
        lines.append(line)
    return "\n".join(lines)


def split_card(text: str, folder) -> tuple:
    """(Markdown, images) of a card that lives in `folder`: the Markdown without front matter,
    headings one level down, and without its local image links; images as (caption, absolute
    path) for each link whose file exists. Links to the web (http, https, data) stay in the
    text; local links to missing files are dropped, so the page shows no broken image."""
    folder = Path(folder)
    images = []

    def take(match):
        caption, target = match.group(1), match.group(2)
        if re.match(r"^(https?|data):", target):
            return match.group(0)
        path = (folder / target).resolve()
        if path.is_file():
            images.append((caption, path))
        return ""

    body = IMAGE_LINK.sub(take, strip_front_matter(text))
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return demote_headings(body), images

"""The README.md model card written beside an exported model (and shown on the Hub)."""


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

"""notebooks/walkthrough.ipynb runs top to bottom (nbclient, a real Jupyter kernel), offline,
on tiny settings: the tiny random-weight model, a toy dataset, 2 training steps."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from tiny_model import build_tiny_export  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "walkthrough.ipynb"
pytestmark = pytest.mark.slow


def test_walkthrough_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSTYLE_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("GANSTYLE_MODEL", str(build_tiny_export(tmp_path / "tiny")))
    monkeypatch.setenv("GANSTYLE_NOTEBOOK_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"

    # The kernel inherits this process's environment (the settings above).
    nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if out.output_type == "display_data" and "image/png" in out.data]
    assert len(images) >= 10, "every section shows its images"
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "styles: ['circle', 'square', 'triangle']" in text
    assert "stripes" in text and "dots" in text  # the model trained on the toy dataset
    assert (tmp_path / "work" / "walk.gif").is_file()
    assert (tmp_path / "work" / "run" / "export" / "model_index.json").is_file()
    assert (tmp_path / "work" / "evaluation.json").is_file() or "skipping the evaluation" in text

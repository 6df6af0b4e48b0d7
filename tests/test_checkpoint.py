"""Atomic safetensors checkpoints, and resuming training from them."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from conftest import (
    assert_same_tensors,
    copy_run,
    last_checkpoint,
    load_state,
    read_metrics,
    settings_for,
)
from ganstyle.training.checkpoint import (incomplete_checkpoints, list_checkpoints, load_checkpoint,
                                          save_checkpoint)
from ganstyle.files import CheckpointError
from ganstyle.training.loop import train


def tiny_training_state(seed=0):
    """A module with a buffer and an Adam optimizer that has taken two steps."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    opt = torch.optim.Adam([{"params": net[0].parameters()}, {"params": net[1].parameters(), "lr": 0.1}],
                           lr=0.01, betas=(0.0, 0.99))
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(8, 4)).square().mean().backward()
        opt.step()
    return net, opt


def test_save_and_load_round_trip(tmp_path):
    net, opt = tiny_training_state(0)
    path = save_checkpoint(tmp_path, 7, {"net": net}, {"net": opt}, {"seed": 3, "note": "x"})
    assert path == tmp_path / "checkpoints" / "checkpoint-7"
    assert sorted(p.name for p in path.iterdir()) == ["state.json", "state.safetensors"]
    info = json.loads((path / "state.json").read_text())
    assert info["step"] == 7 and info["seed"] == 3 and info["note"] == "x"
    tensors = load_state(path)
    assert "model.net.0.weight" in tensors and "model.net.1.running_mean" in tensors
    assert any(k.startswith("optim.net.") and k.endswith(".exp_avg") for k in tensors)

    fresh, fresh_opt = tiny_training_state(1)
    assert not torch.equal(fresh[0].weight, net[0].weight)
    loaded = load_checkpoint(path, {"net": fresh}, {"net": fresh_opt})
    assert loaded["step"] == 7 and loaded["seed"] == 3
    assert_same_tensors(fresh.state_dict(), net.state_dict())
    a, b = opt.state_dict(), fresh_opt.state_dict()
    # hyper-parameters go through JSON (a tuple of betas comes back as a list)
    assert json.loads(json.dumps(a["param_groups"])) == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for index in a["state"]:
        assert_same_tensors(a["state"][index], b["state"][index])
    # the restored optimizer continues exactly like the original one
    batch = torch.randn(8, 4)
    for model, optimizer in ((net, opt), (fresh, fresh_opt)):
        optimizer.zero_grad()
        model(batch).square().mean().backward()
        optimizer.step()
    assert_same_tensors(fresh.state_dict(), net.state_dict())


def test_old_checkpoints_are_pruned_and_listed_in_step_order(tmp_path):
    net, opt = tiny_training_state()
    for step in (5, 9, 10, 100):
        save_checkpoint(tmp_path, step, {"net": net}, {"net": opt}, {}, keep=3)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-9", "checkpoint-10", "checkpoint-100"]
    save_checkpoint(tmp_path, 101, {"net": net}, {"net": opt}, {}, keep=1)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-101"]
    assert list_checkpoints(tmp_path / "nothing") == []


def test_temporary_and_foreign_folders_are_not_checkpoints(tmp_path):
    net, opt = tiny_training_state()
    save_checkpoint(tmp_path, 3, {"net": net}, {"net": opt}, {})
    root = tmp_path / "checkpoints"
    (root / ".checkpoint-8.tmp").mkdir()  # a save killed half-way
    (root / ".checkpoint-8.tmp" / "state.json").write_text("{broken")
    (root / "checkpoint-9").write_text("a file, not a folder")
    (root / "checkpoint-x").mkdir()
    (root / "checkpoint-12-old").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-3"]
    # saving the step whose temporary folder was left behind replaces it cleanly
    save_checkpoint(tmp_path, 8, {"net": net}, {"net": opt}, {})
    assert not (root / ".checkpoint-8.tmp").exists()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-3", "checkpoint-8"]


def test_load_refuses_unreadable_and_mismatching_checkpoints(tmp_path):
    net, opt = tiny_training_state()
    path = save_checkpoint(tmp_path, 1, {"net": net}, {"net": opt}, {})
    other = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5))
    with pytest.raises(CheckpointError, match=r"does not match the net network being trained") as err:
        load_checkpoint(path, {"net": other}, {})
    assert str(path) in str(err.value)
    with pytest.raises(CheckpointError, match="does not match the missing network"):
        load_checkpoint(path, {"missing": nn.Linear(4, 3)}, {})
    (path / "state.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(path, {"net": net}, {"net": opt})
    (path / "state.json").unlink()
    with pytest.raises(CheckpointError, match=r"checkpoint .*checkpoint-1 cannot be read"):
        load_checkpoint(path, {"net": net}, {"net": opt})


# ---------------------------------------------------------------- resuming real training runs


def assert_same_run_end(run_a, run_b, step):
    """Bit-identical export weights, and an identical last checkpoint (networks, EMA copies,
    optimizer moments and hyper-parameters)."""
    for component in ("generator", "translator"):
        assert_same_tensors(load_state_file(run_a / "export" / component / "model.safetensors"),
                            load_state_file(run_b / "export" / component / "model.safetensors"))
    ckpt_a, ckpt_b = last_checkpoint(run_a), last_checkpoint(run_b)
    assert ckpt_a.name == ckpt_b.name == f"checkpoint-{step}"
    a, b = load_state(ckpt_a), load_state(ckpt_b)
    assert any(k.startswith("optim.generator.G.") for k in a) and any(k.startswith("optim.translator.T.") for k in a)
    assert_same_tensors(a, b)
    info_a, info_b = (json.loads((c / "state.json").read_text()) for c in (ckpt_a, ckpt_b))
    assert info_a["optimizers"] == info_b["optimizers"]
    assert info_a["step"] == info_b["step"] == step and info_a["seed"] == info_b["seed"]


def load_state_file(path):
    return load_file(str(path))


def test_resume_continues_exactly_like_an_uninterrupted_run(both_run, half_run, tmp_path):
    full_settings, _, _ = both_run
    run = copy_run(half_run.out, tmp_path / "resumed")
    assert last_checkpoint(run).name == "checkpoint-3"
    train(settings_for(half_run.data, run, steps=6, resume=True))
    assert_same_run_end(Path(full_settings.out), run, 6)
    # the metrics log continues where it stopped, one row per step, the header kept
    rows = read_metrics(run)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]


def test_resume_ignores_a_checkpoint_left_half_written(both_run, half_run, tmp_path):
    run = copy_run(half_run.out, tmp_path / "crashed")
    # a later save was killed before its rename: only the temporary folder exists
    junk = run / "checkpoints" / ".checkpoint-5.tmp"
    junk.mkdir()
    (junk / "state.json").write_text('{"step": 5, "seed": 999')
    (junk / "state.safetensors").write_bytes(b"\x00" * 100)
    train(settings_for(half_run.data, run, steps=6, resume=True))
    assert_same_run_end(Path(both_run[0].out), run, 6)


def test_resume_with_a_different_resolution_is_refused(half_run, tmp_path):
    run = copy_run(half_run.out, tmp_path / "res")
    with pytest.raises(CheckpointError, match=r"resolution: checkpoint 16 vs now 32") as err:
        train(settings_for(half_run.data, run, steps=6, resume=True, resolution=32))
    assert "checkpoint-3" in str(err.value)


def test_resume_of_a_run_from_before_the_discriminator_width_setting(half_run, tmp_path):
    """Checkpoints written before `generator_d_channel_base` existed had a 1024 base."""
    run = copy_run(half_run.out, tmp_path / "old")
    state = next((run / "checkpoints").glob("checkpoint-*")) / "state.json"
    info = json.loads(state.read_text())
    del info["settings"]["generator_d_channel_base"]
    state.write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match=r"generator_d_channel_base: checkpoint 1024 vs now 2048"):
        train(settings_for(half_run.data, run, steps=6, resume=True))


@pytest.mark.parametrize("components", ["generator", "translator"])
def test_resume_with_different_components_is_refused(half_run, tmp_path, components):
    run = copy_run(half_run.out, tmp_path / "model")
    with pytest.raises(CheckpointError, match=rf"cannot resume from .*checkpoint-3: components: checkpoint 'both' "
                                              rf"vs now '{components}'"):
        train(settings_for(half_run.data, run, steps=6, resume=True, components=components))


def test_resume_with_a_different_batch_size_is_refused(half_run, tmp_path):
    run = copy_run(half_run.out, tmp_path / "batch")
    with pytest.raises(CheckpointError, match=r"batch_size: checkpoint 4 vs now 2"):
        train(settings_for(half_run.data, run, steps=6, resume=True, batch_size=2))


def test_resume_at_the_final_step_trains_nothing(half_run, tmp_path):
    run = copy_run(half_run.out, tmp_path / "done")
    before = (run / "export" / "generator" / "model.safetensors").read_bytes()
    checkpoint = (last_checkpoint(run) / "state.safetensors").read_bytes()
    train(settings_for(half_run.data, run, steps=3, resume=True))
    assert (run / "export" / "generator" / "model.safetensors").read_bytes() == before
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-3"]
    assert (last_checkpoint(run) / "state.safetensors").read_bytes() == checkpoint
    # and a lost export folder is rebuilt from the checkpoint
    shutil.rmtree(run / "export")
    train(settings_for(half_run.data, run, steps=3, resume=True))
    assert (run / "export" / "generator" / "model.safetensors").read_bytes() == before


# ----------------------------------------------------------------------------- killed runs (issue 14)
class Killed(BaseException):
    """Stands for SIGKILL at an injected point: a BaseException, so no `except Exception`
    cleanup runs, and the run folder is left exactly as a killed process would leave it."""


def kill_on(call, when=lambda *args, **kwargs: True, before=None):
    """A replacement for `call` that raises Killed when `when(...)` holds (after running
    `before(...)`, e.g. to do half of the work), and otherwise calls through."""
    def replacement(*args, **kwargs):
        if when(*args, **kwargs):
            if before is not None:
                before(*args, **kwargs)
            raise Killed
        return call(*args, **kwargs)
    return replacement


def resume_after_kill(half_run, run, monkeypatch, target, replacement, **overrides):
    """Resume `run` to step 6 with `target` replaced (the run is killed), then resume again
    normally, as a user would after the crash."""
    with monkeypatch.context() as patch:
        patch.setattr(target[0], target[1], replacement)
        with pytest.raises(Killed):
            train(settings_for(half_run.data, run, steps=6, resume=True, **overrides))
    train(settings_for(half_run.data, run, steps=6, resume=True, **overrides))


def test_kill_after_the_last_checkpoint_then_resume_rewrites_the_stale_export(both_run, half_run, tmp_path,
                                                                              monkeypatch, capsys):
    """Killed after checkpoint-6 appeared, before its export: the resume ('already at step 6')
    used to leave the step-3 export in place."""
    import ganstyle.training.loop as train_module

    run = copy_run(half_run.out, tmp_path / "killed")
    resume_after_kill(half_run, run, monkeypatch, (train_module, "save_export"),
                      kill_on(train_module.save_export))
    assert "is older than step 6; rewriting it from" in capsys.readouterr().out
    assert_same_run_end(Path(both_run[0].out), run, 6)
    assert json.loads((run / "export" / "model_index.json").read_text())["training"]["steps"] == 6


def test_kill_during_checkpoint_rotation_leaves_no_half_checkpoint(both_run, half_run, tmp_path, monkeypatch):
    """Killed half-way through deleting checkpoint-3 (its state.json gone, its weights not):
    the folder had already been renamed, so nothing incomplete looks like a checkpoint."""
    import ganstyle.training.checkpoint as checkpoint_module

    run = copy_run(half_run.out, tmp_path / "rotation")
    rmtree = shutil.rmtree

    def deleting_checkpoint_3(path, *args, **kwargs):
        return "checkpoint-3" in Path(path).name and Path(path).exists()

    def delete_half(path, *args, **kwargs):
        (Path(path) / "state.json").unlink()

    replacement = kill_on(rmtree, deleting_checkpoint_3, before=delete_half)
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint_module.shutil, "rmtree", replacement)
        with pytest.raises(Killed):
            train(settings_for(half_run.data, run, steps=6, resume=True, keep_checkpoints=1))
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == [".checkpoint-3.deleting", "checkpoint-6"], names
    assert incomplete_checkpoints(run) == []
    train(settings_for(half_run.data, run, steps=6, resume=True, keep_checkpoints=1))
    assert_same_run_end(Path(both_run[0].out), run, 6)


def test_kill_during_the_export_write_then_resume_rebuilds_it(both_run, half_run, tmp_path, monkeypatch):
    """Killed between moving the old export aside and moving the new one in."""
    import ganstyle.storage.model_folder as export_module

    run = copy_run(half_run.out, tmp_path / "export-write")
    replacement = kill_on(export_module.os.replace, lambda src, dst: Path(src).name == "export.tmp")
    resume_after_kill(half_run, run, monkeypatch, (export_module.os, "replace"), replacement)
    assert_same_run_end(Path(both_run[0].out), run, 6)


def test_incomplete_checkpoint_found_at_start_is_reported_and_skipped(both_run, half_run, tmp_path, capsys):
    run = copy_run(half_run.out, tmp_path / "partial")
    weights = last_checkpoint(run) / "state.safetensors"
    partial = run / "checkpoints" / "checkpoint-9"  # as a kill during a non-atomic deletion left it
    partial.mkdir()
    shutil.copy(weights, partial / "state.safetensors")
    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-3"]
    assert incomplete_checkpoints(run) == [(partial, ["state.json"])]
    train(settings_for(half_run.data, run, steps=6, resume=True))
    assert f"--resume: skipping {partial}: incomplete (no state.json)" in capsys.readouterr().out
    assert_same_run_end(Path(both_run[0].out), run, 6)


def test_disk_full_during_a_checkpoint_is_one_line_and_keeps_the_last_good_one(both_run, half_run, tmp_path,
                                                                               monkeypatch, capsys):
    import ganstyle.training.checkpoint as checkpoint_module
    from ganstyle.cli import main
    from safetensors import SafetensorError

    run = copy_run(half_run.out, tmp_path / "full")

    def no_space(*args, **kwargs):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                              'message: "No space left on device" })')

    argv = ["train", "--data", str(half_run.data), "--out", str(run), "--resolution", "16", "--batch-size", "4",
            "--seed", "1234", "--checkpoint-every", "3", "--sample-every", "3", "--log-every", "1", "--steps", "6",
            "--resume"]
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint_module, "save_file", no_space)
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == (f"ganstyle train: error: cannot write checkpoint-6 in {run / 'checkpoints'}: no space left "
                         "on device; the last complete checkpoint, checkpoint-3, is intact")
    assert "Traceback" not in "\n".join(lines)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["checkpoint-3"]  # no temporary left
    train(settings_for(half_run.data, run, steps=6, resume=True))  # space freed: the run goes on
    assert_same_run_end(Path(both_run[0].out), run, 6)


def test_disk_full_during_the_export_keeps_the_previous_export(half_run, tmp_path, monkeypatch):
    import ganstyle.nets.pretrained as modeling_module
    from ganstyle.storage.model_folder import load_export, save_export

    run = copy_run(half_run.out, tmp_path / "full-export")
    before = (run / "export" / "generator" / "model.safetensors").read_bytes()
    _, modules = load_export(run / "export")

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modeling_module, "save_file", no_space)
    with pytest.raises(CheckpointError, match=rf"cannot write the export {run / 'export'}: no space left on device; "
                                              "the previous export is intact"):
        save_export(run / "export", ["a", "b", "c"], 16, modules)
    assert (run / "export" / "generator" / "model.safetensors").read_bytes() == before
    assert not (run / "export.tmp").exists()


def test_atomic_path_keeps_the_old_file_when_a_write_fails(tmp_path):
    from ganstyle.files import atomic_path, read_json, write_json

    target = write_json(tmp_path / "a.json", {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("killed")
    assert read_json(target) == {"v": 1} and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    write_json(target, {"v": 2})
    assert read_json(target) == {"v": 2} and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


KILLED_CHILD = r"""
import os, sys
import ganstyle.training.loop as loop
from ganstyle.cli import main

def die(*args, **kwargs):  # checkpoint-6 is on disk; the process dies before its export
    os._exit(9)

loop.save_export = die
main(sys.argv[1:])
"""


def test_a_process_killed_after_its_last_checkpoint_resumes_to_the_same_export(both_run, half_run, tmp_path):
    """The same moment as above, with a real process death (os._exit: no cleanup, no
    finally, no atexit) in a `ganstyle train` subprocess."""
    import os
    import subprocess
    import sys

    run = copy_run(half_run.out, tmp_path / "sigkill")
    root = Path(__file__).resolve().parent.parent
    argv = ["train", "--data", str(half_run.data), "--out", str(run), "--resolution", "16", "--batch-size", "4",
            "--seed", "1234", "--checkpoint-every", "3", "--sample-every", "3", "--log-every", "1", "--steps", "6",
            "--resume"]
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    done = subprocess.run([sys.executable, "-c", KILLED_CHILD, *argv], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 9, done.stderr[-2000:]
    assert last_checkpoint(run).name == "checkpoint-6"
    assert json.loads((run / "export" / "model_index.json").read_text())["training"]["steps"] == 3  # stale
    train(settings_for(half_run.data, run, steps=6, resume=True))
    assert_same_run_end(Path(both_run[0].out), run, 6)

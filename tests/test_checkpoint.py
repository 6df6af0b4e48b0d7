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
from ganstyle.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from ganstyle.nets.pretrained import CheckpointError
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


@pytest.mark.parametrize("model", ["generator", "translator"])
def test_resume_with_a_different_model_is_refused(half_run, tmp_path, model):
    run = copy_run(half_run.out, tmp_path / "model")
    with pytest.raises(CheckpointError, match=rf"cannot resume from .*checkpoint-3: model: checkpoint 'both' "
                                              rf"vs now '{model}'"):
        train(settings_for(half_run.data, run, steps=6, resume=True, model=model))


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

"""Training data: finding style folders, the validation rule, ImageBank loading and sampling."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.data import DataError, ImageBank, find_style_folders, is_validation


def test_find_style_folders_maps_sorted_styles_to_sorted_images(style_dataset):
    (style_dataset / "circles" / "readme.txt").write_text("not an image")
    (style_dataset / "circles" / "sub.png").mkdir()  # a folder named like an image is not one
    (style_dataset / ".cache").mkdir()  # hidden folders are not styles
    (style_dataset / ".cache" / "x.png").write_bytes(b"")
    (style_dataset / "loose.png").write_bytes(b"")  # files at the root are not styles
    (style_dataset / "squares" / "UPPER.PNG").write_bytes((style_dataset / "squares").iterdir().__next__().read_bytes())
    folders = find_style_folders(style_dataset)
    assert list(folders) == ["circles", "squares", "triangles"]
    assert [len(v) for v in folders.values()] == [10, 11, 10]
    for style, files in folders.items():
        assert files == sorted(files)
        assert all(f.parent.name == style and f.suffix.lower() in (".png", ".jpg") for f in files)


def test_validation_rule_is_fixed_and_depends_only_on_the_file_name():
    # pinned: the same files are held out on every machine, run and version
    assert [i for i in range(60) if is_validation(f"image-{i}.jpg")] == [7, 29, 32, 34, 35, 36]
    assert is_validation("x/y/image-7.jpg") and is_validation("other/image-7.jpg")
    assert not is_validation("image-7.png")
    names = [f"photo_{i:05d}.jpg" for i in range(5000)]
    share = sum(map(is_validation, names)) / len(names)
    assert 0.08 < share < 0.12  # about 10%


def test_train_and_val_splits_are_disjoint_and_cover_everything(style_dataset):
    everything = find_style_folders(style_dataset, "all")
    train = find_style_folders(style_dataset, "train")
    val = find_style_folders(style_dataset, "val")
    assert list(train) == list(val) == list(everything)
    for style in everything:
        assert val[style] and train[style]
        assert not set(train[style]) & set(val[style])
        assert sorted(train[style] + val[style]) == everything[style]
        assert all(is_validation(f) for f in val[style]) and not any(is_validation(f) for f in train[style])
    assert find_style_folders(style_dataset, "val") == val  # deterministic
    bank = ImageBank(style_dataset, 16, split="train")
    assert len(bank) == sum(map(len, train.values()))


def test_bad_split_name(style_dataset):
    with pytest.raises(DataError, match="split must be one of all, train, val"):
        find_style_folders(style_dataset, "test")


def test_split_with_no_images_in_a_style(tmp_path):
    for style in ("a", "b"):
        (tmp_path / style).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / style / "image-1.png")  # not a validation file
    assert not is_validation("image-1.png")
    with pytest.raises(DataError, match=r"style folder .*a has no images in the 'val' split"):
        find_style_folders(tmp_path, "val")


def test_missing_and_empty_root(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        find_style_folders(tmp_path / "nope")
    with pytest.raises(DataError, match=r"has no style sub-folders; expected .*/<style>/\*\.jpg"):
        ImageBank(tmp_path, 16)


def test_style_folder_without_images(style_dataset):
    (style_dataset / "empty").mkdir()
    (style_dataset / "empty" / "notes.txt").write_text("no pictures here")
    with pytest.raises(DataError, match=r"style folder .*empty has no images \(\.jpg"):
        ImageBank(style_dataset, 16)


def test_too_few_styles(tmp_path):
    (tmp_path / "only").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "only" / "a.png")
    assert len(ImageBank(tmp_path, 8, min_styles=1)) == 1
    with pytest.raises(DataError, match=r"has 1 style folder\(s\) \(only\); this model needs at least 2"):
        ImageBank(tmp_path, 8, min_styles=2)


def test_bank_holds_every_image_at_the_training_resolution(style_dataset):
    bank = ImageBank(style_dataset, 16)
    assert bank.styles == ["circles", "squares", "triangles"]
    assert len(bank) == 30 and bank.counts() == {"circles": 10, "squares": 10, "triangles": 10}
    assert bank.images.shape == (30, 3, 16, 16) and bank.images.dtype == torch.uint8
    assert bank.labels.tolist() == [0] * 10 + [1] * 10 + [2] * 10
    assert [idx.tolist() for idx in bank.by_style] == [list(range(10)), list(range(10, 20)), list(range(20, 30))]
    # the background colour of each style survives decoding and resizing
    corner = bank.images[:, :, 0, 0].float()
    torch.testing.assert_close(corner[5], torch.tensor([245.0, 235, 220]), atol=12, rtol=0)
    torch.testing.assert_close(corner[15], torch.tensor([20.0, 20, 40]), atol=12, rtol=0)


def test_any_size_and_mode_comes_out_at_the_training_resolution(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    rgba = np.zeros((30, 50, 4), np.uint8)
    Image.fromarray(rgba, "RGBA").save(a / "transparent.png")  # -> all white
    Image.fromarray(np.full((20, 20), 65535, np.uint16)).save(a / "white16.png")  # I;16 -> all white
    Image.new("L", (7, 5), 0).save(a / "tiny_black.png")  # upscaled
    Image.new("CMYK", (64, 24), (0, 0, 0, 255)).save(a / "cmyk.jpg")
    Image.new("P", (24, 90), 3).save(b / "palette.png")
    Image.new("LA", (33, 17), (128, 255)).save(b / "la.webp")
    Image.new("RGB", (200, 40), (9, 99, 199)).save(b / "wide.jpg", quality=95)
    bank = ImageBank(tmp_path, 8)
    assert bank.images.shape == (7, 3, 8, 8) and bank.images.dtype == torch.uint8
    by_name = dict(zip([f.name for files in find_style_folders(tmp_path).values() for f in files], bank.images))
    assert (by_name["transparent.png"] == 255).all()
    assert (by_name["white16.png"] == 255).all()
    assert (by_name["tiny_black.png"] == 0).all()
    assert (by_name["cmyk.jpg"].float().mean() < 40)
    assert (by_name["la.webp"].float() - 128).abs().max() <= 3
    assert (by_name["wide.jpg"].float().mean(dim=[1, 2]) - torch.tensor([9.0, 99, 199])).abs().max() < 4


def test_unreadable_files_are_skipped_with_one_warning(style_dataset):
    truncated = style_dataset / "circles" / "truncated.png"
    good = next((style_dataset / "circles").glob("*.png")).read_bytes()
    truncated.write_bytes(good[: len(good) // 2])
    garbage = style_dataset / "squares" / "garbage.jpg"
    garbage.write_text("not a jpeg")
    empty = style_dataset / "triangles" / "empty.webp"
    empty.write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bank = ImageBank(style_dataset, 16)
    assert [w.category for w in caught] == [UserWarning], [str(w.message) for w in caught]
    skipped = caught
    message = str(skipped[0].message)
    assert message.startswith("skipped 3 unreadable image(s)")
    for path in (truncated, garbage, empty):
        assert str(path) in message
    assert "truncated" in message and "not an image file" in message and "empty" in message
    assert len(bank) == 30 and bank.counts() == {"circles": 10, "squares": 10, "triangles": 10}
    with pytest.warns(UserWarning, match=r"skipped 3 unreadable image\(s\)"):
        ImageBank(style_dataset, 16)


def test_style_whose_images_are_all_corrupt(style_dataset):
    for path in (style_dataset / "squares").iterdir():
        path.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.warns(UserWarning, match=r"skipped 10 unreadable"):
        with pytest.raises(DataError, match=r"no usable image in style folder\(s\): squares$"):
            ImageBank(style_dataset, 16)


def test_no_warning_when_everything_is_readable(style_dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImageBank(style_dataset, 16)


def test_sample_shapes_ranges_and_determinism(style_dataset):
    bank = ImageBank(style_dataset, 16)
    torch.manual_seed(0)
    images, labels = bank.sample(6)
    assert images.shape == (6, 3, 16, 16) and images.dtype == torch.float32
    assert labels.shape == (6,) and labels.dtype == torch.long
    assert images.min() >= -1 and images.max() <= 1
    torch.manual_seed(0)
    again, labels_again = bank.sample(6)
    assert torch.equal(images, again) and torch.equal(labels, labels_again)


def test_sample_by_label_draws_from_that_style_possibly_mirrored(style_dataset):
    bank = ImageBank(style_dataset, 16)
    torch.manual_seed(1)
    wanted = torch.tensor([2, 0, 1, 1, 2, 0, 0, 2] * 4)
    images, labels = bank.sample(len(wanted), labels=wanted)
    assert torch.equal(labels, wanted)
    as_uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
    mirrored = 0
    for image, label in zip(as_uint8, wanted.tolist()):
        pool = bank.images[bank.by_style[label]]
        plain = (pool == image).flatten(1).all(1).any()
        flipped = (pool.flip(-1) == image).flatten(1).all(1).any()
        assert plain or flipped
        mirrored += bool(flipped and not plain)
    assert mirrored > 0  # flip=True mirrors about half of them
    torch.manual_seed(1)
    straight, _ = bank.sample(len(wanted), labels=wanted, flip=False)
    for image, label in zip(((straight + 1) * 127.5).round().to(torch.uint8), wanted.tolist()):
        assert (bank.images[bank.by_style[label]] == image).flatten(1).all(1).any()

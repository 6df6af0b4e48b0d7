"""open_image: every mode becomes 8-bit RGB, EXIF orientation is applied, bad files are refused."""

import gc
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.imageio import ImageError, check_image_size, open_image, pil_to_tensor, resize_crop, tensor_to_pil, to_rgb


def pixels(image):
    return np.asarray(image)


def test_rgb_file_passes_through(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png")
    assert image.mode == "RGB" and image.size == (10, 12)
    assert np.array_equal(pixels(image), array)
    assert np.array_equal(pixels(open_image(str(tmp_path / "a.png"))), array)  # str path too


def test_rgba_is_composited_on_white(tmp_path):
    array = np.zeros((4, 4, 4), np.uint8)
    array[..., 0] = 255  # red
    array[0, :, 3] = 0  # row 0 fully transparent
    array[1, :, 3] = 255  # row 1 opaque
    array[2, :, 3] = 128  # row 2 half transparent
    Image.fromarray(array, "RGBA").save(tmp_path / "a.png")
    out = pixels(open_image(tmp_path / "a.png"))
    assert out.dtype == np.uint8 and out.shape == (4, 4, 3)
    assert (out[0] == 255).all()  # transparent -> white
    assert (out[1] == [255, 0, 0]).all()
    assert (out[2, :, 0] == 255).all() and (np.abs(out[2, :, 1:].astype(int) - 127) <= 1).all()


def test_la_is_composited_on_white(tmp_path):
    grey = np.full((2, 3), 50, np.uint8)
    alpha = np.array([[0, 255, 0], [255, 0, 255]], np.uint8)
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(tmp_path / "la.png")
    assert Image.open(tmp_path / "la.png").mode == "LA"
    out = pixels(open_image(tmp_path / "la.png"))
    expected = np.where(alpha == 0, 255, 50)
    assert np.array_equal(out, np.repeat(expected[..., None], 3, axis=2))


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.putpixel((0, 0), 1)
    image.info["transparency"] = 0  # palette entry 0 (red) is transparent
    image.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    out = open_image(tmp_path / "p.png")
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (0, 255, 0)
    assert out.getpixel((2, 2)) == (255, 255, 255)
    plain = Image.new("P", (2, 2), 1)
    plain.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    assert open_image(plain).getpixel((1, 1)) == (10, 20, 30)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    Image.fromarray(np.array([[0, 77, 255]], np.uint8), "L").save(tmp_path / "l.png")
    out = pixels(open_image(tmp_path / "l.png"))
    assert np.array_equal(out[0], [[0, 0, 0], [77, 77, 77], [255, 255, 255]])


def test_16_bit_png_is_rescaled_to_8_bit(tmp_path):
    array = np.array([[0, 32768, 65535, 257]], np.uint16)
    Image.fromarray(array).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    out = open_image(tmp_path / "g16.png")
    assert out.mode == "RGB"
    assert [out.getpixel((i, 0)) for i in range(4)] == [(0,) * 3, (128,) * 3, (255,) * 3, (1,) * 3]
    white = np.full((3, 3), 65535, np.uint16)
    Image.fromarray(white).save(tmp_path / "white16.png")
    assert (pixels(open_image(tmp_path / "white16.png")) == 255).all()


def test_32_bit_integer_image_in_8_bit_range():
    image = Image.fromarray(np.array([[0, 100, 255]], np.int32), "I")
    assert [open_image(image).getpixel((i, 0)) for i in range(3)] == [(0,) * 3, (100,) * 3, (255,) * 3]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)  # pure red in CMYK
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    out = open_image(tmp_path / "c.jpg")
    assert out.mode == "RGB"
    r, g, b = out.getpixel((4, 4))
    assert r > 230 and g < 30 and b < 30


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))  # left half red, right half blue
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    image.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=95)
    assert Image.open(tmp_path / "o.jpg").size == (40, 20)
    out = open_image(tmp_path / "o.jpg")
    assert out.size == (20, 40)
    top, bottom = out.getpixel((10, 3)), out.getpixel((10, 36))
    assert top[0] > 200 and top[2] < 50  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 50


def test_other_sources_bytes_file_object_array_and_pil(tmp_path):
    array = np.random.default_rng(1).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert np.array_equal(pixels(open_image(data)), array)
    assert np.array_equal(pixels(open_image(io.BytesIO(data))), array)
    assert np.array_equal(pixels(open_image(array)), array)
    assert np.array_equal(pixels(open_image(Image.fromarray(array))), array)
    with pytest.raises(TypeError):
        open_image(12345)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"nothere\.png: no such file"):
        open_image(tmp_path / "nothere.png")


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_truncated_file_is_refused(tmp_path, fmt):
    array = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG" if fmt == "png" else "JPEG", quality=95)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated") as err:
        open_image(path)
    assert str(path) in str(err.value)


def test_non_image_file_is_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels")
    with pytest.raises(ImageError, match="not an image file") as err:
        open_image(path)
    assert str(path) in str(err.value)


def test_zero_byte_file_is_refused(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty \(0 bytes\)") as err:
        open_image(path)
    assert str(path) in str(err.value)
    with pytest.raises(ImageError, match="empty"):
        open_image(b"")


def test_zero_size_image_is_refused():
    with pytest.raises(ImageError, match=r"zero size \(0x0\)"):
        open_image(Image.new("RGB", (0, 0)))
    with pytest.raises(ImageError, match=r"my upload has zero size \(5x0\)"):
        open_image(Image.new("RGB", (5, 0)), name="my upload")


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    Image.new("RGB", (32, 32), (1, 2, 3)).save(tmp_path / "big.png")
    assert open_image(tmp_path / "big.png").size == (32, 32)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses more than 2x this
    with pytest.raises(ImageError, match="too large to open safely") as err:
        open_image(tmp_path / "big.png")
    message = str(err.value)
    assert str(tmp_path / "big.png") in message and "decompression bomb" in message and "100 pixels" in message


def test_to_rgb_on_in_memory_images():
    assert to_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("1", (2, 2), 1)).getpixel((1, 1)) == (255, 255, 255)
    assert to_rgb(Image.new("RGB", (2, 2), (1, 2, 3))).getpixel((0, 1)) == (1, 2, 3)


@pytest.mark.parametrize("size", [(40, 20), (20, 50), (5, 7), (16, 16), (300, 200)])
def test_resize_crop_gives_a_square_of_the_requested_size(size):
    image = Image.new("RGB", size, (10, 20, 30))
    out = resize_crop(image, 16)
    assert out.size == (16, 16) and out.mode == "RGB"
    assert (np.abs(pixels(out).astype(int) - [10, 20, 30]) <= 1).all()


def test_resize_crop_keeps_the_centre():
    image = Image.new("RGB", (48, 16), (255, 0, 0))
    image.paste((0, 255, 0), (16, 0, 32, 16))  # green centre square, red sides
    out = pixels(resize_crop(image, 8))
    assert (out[:, 1:-1, 1] > 200).all() and (out[:, 1:-1, 0] < 60).all()


def test_tensor_conversions_round_trip():
    array = np.random.default_rng(2).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    tensor = pil_to_tensor(Image.fromarray(array))
    assert tensor.shape == (3, 6, 7) and tensor.dtype == torch.float32
    assert tensor.min() >= -1 and tensor.max() <= 1
    assert tensor_to_pil(tensor).size == (7, 6)
    assert np.array_equal(pixels(tensor_to_pil(tensor)), array)
    clipped = pixels(tensor_to_pil(torch.tensor([-3.0, 0.0, 5.0]).view(3, 1, 1)))
    assert clipped.tolist() == [[[0, 128, 255]]]


def test_files_are_closed_even_when_decoding_fails(tmp_path):
    good, cut = tmp_path / "good.png", tmp_path / "cut.png"
    Image.new("RGB", (64, 64), (5, 6, 7)).save(good)
    cut.write_bytes(good.read_bytes()[:60])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert open_image(good).getpixel((0, 0)) == (5, 6, 7)
            with pytest.raises(ImageError):
                open_image(cut)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks


def test_max_pixels_is_checked_before_decoding(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 200)).save(path)
    assert open_image(path, max_pixels=60_000).size == (300, 200)
    with pytest.raises(ImageError, match=r"The photo is 300x200 pixels \(0.06 MP\); at most 0.05 MP"):
        open_image(path, name="The photo", max_pixels=50_000)


# ----------------------------------------------------------------------------- limits (issue 14)
COST_PROBE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from hostile_images import DENSE, HUGE_16_BIT, MILLION, THIN, png_bytes
from ganstyle.imageio import ImageError, check_image_size, open_image, resize_crop
from PIL import Image

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

cases = {"thin": png_bytes(**THIN), "million": png_bytes(**MILLION), "huge16": png_bytes(**HUGE_16_BIT),
         "dense": png_bytes(**DENSE)}
before, report = peak(), {}
for name, data in cases.items():
    start = time.perf_counter()
    try:
        open_image(data, name=name)
        outcome = "opened"
    except ImageError as err:
        outcome = str(err)
    report[name] = [outcome, time.perf_counter() - start]
start = time.perf_counter()
report["resize_crop"] = [resize_crop(Image.new("RGB", (1, 1_000_000)), 64).size, time.perf_counter() - start]
report["added_mib"] = peak() - before
print(json.dumps(report))
"""


def test_small_hostile_files_are_refused_from_the_header_in_bounded_memory_and_time():
    """A 600-byte 1x131000 PNG cost 3-4 GB as a reference, a 330 KB 13000x13000 16-bit PNG
    5 GB and 33 s: now each is refused before decoding. Measured in a fresh process, whose
    peak resident memory may grow by at most 100 MB over all the cases together."""
    tests = Path(__file__).resolve().parent
    done = subprocess.run([sys.executable, "-c", COST_PROBE, str(tests)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(tests.parent), os.environ.get("PYTHONPATH", "")])})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "thin is 1x131000 pixels, more than 64:1" in report["thin"][0]
    assert "million is 1x1000000 pixels, more than 64:1" in report["million"][0]
    assert "huge16 is 13000x13000 pixels (169 MP); at most 40 MP are accepted" in report["huge16"][0]
    assert "dense claims 3000x3000 pixels in a file of only 1,173 bytes" in report["dense"][0]
    assert "decompression bomb" in report["dense"][0]
    assert report["resize_crop"][0] == [64, 64]
    assert all(entry[1] < 1.0 for entry in report.values() if isinstance(entry, list)), report
    assert report["added_mib"] < 100, report


def test_limits_hold_at_their_edges(tmp_path):
    """The limits refuse just past their values and accept them exactly."""
    check_image_size(64, 1)  # exactly 64:1
    with pytest.raises(ImageError, match="65x1 pixels, more than 64:1"):
        check_image_size(65, 1)
    check_image_size(8000, 5000)  # exactly 40 MP
    with pytest.raises(ImageError, match=r"8001x5000 pixels \(40 MP\); at most 40 MP are accepted"):
        check_image_size(8001, 5000)
    check_image_size(2000, 2000, file_bytes=1)  # small images: any file size
    check_image_size(3000, 3000, file_bytes=9000)  # 1000 pixels per byte
    with pytest.raises(ImageError, match="more than 1000 pixels per byte"):
        check_image_size(3000, 3000, file_bytes=8999)
    blank = tmp_path / "blank.png"  # a real, maximally compressible picture passes the density check
    Image.new("RGB", (2500, 2000), "white").save(blank, optimize=True)
    assert open_image(blank).size == (2500, 2000)


def test_array_inputs_are_checked_with_a_clear_message():
    gray = np.zeros((5, 6), np.uint8)
    assert open_image(gray).size == (6, 5)
    assert open_image(np.zeros((5, 6, 1), np.uint8)).size == (6, 5)
    with pytest.raises(ImageError, match="must hold uint8 values 0-255, got float32"):
        open_image(np.zeros((5, 6, 3), np.float32))
    with pytest.raises(ImageError, match=r"must be HxW, HxWx3 or HxWx4, got shape \(1, 5, 6, 3\)"):
        open_image(np.zeros((1, 5, 6, 3), np.uint8))
    with pytest.raises(ImageError, match=r"got shape \(5, 6, 2\)"):
        open_image(np.zeros((5, 6, 2), np.uint8))
    with pytest.raises(ImageError, match="more than 64:1"):
        open_image(np.zeros((1, 100), np.uint8))


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    assert Image.open(tmp_path / "a.gif").n_frames == 2
    assert open_image(tmp_path / "a.gif").getpixel((4, 4)) == (255, 0, 0)


def test_resize_crop_of_a_thin_strip_keeps_its_centre():
    strip = Image.new("RGB", (3, 100_000), (255, 0, 0))
    strip.paste((0, 255, 0), (0, 49_000, 3, 51_000))  # green around the centre
    out = pixels(resize_crop(strip, 16))
    assert out.shape == (16, 16, 3) and (out[..., 1] > 200).all()
    # a strip just within the ratio is resampled whole, as before the limit existed
    wide = Image.new("RGB", (640, 10), (0, 0, 255))
    assert (pixels(resize_crop(wide, 8))[..., 2] > 250).all()


def test_huge_file_names_are_shortened_in_messages():
    with pytest.raises(ImageError) as err:
        open_image("x" * 100_000 + ".png")
    assert len(str(err.value)) < 400 and "(100,004 characters)" in str(err.value)

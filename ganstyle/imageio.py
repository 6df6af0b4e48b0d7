"""Reading user images safely and converting between PIL images and tensors.

Every image that enters ganstyle (training data, photos, references) goes through
`open_image`, so all of them get the same treatment: EXIF orientation applied, any mode
(RGBA, LA, P, L, I;16, CMYK, ...) turned into 8-bit RGB, and unreadable, truncated,
empty or oversized files refused with a message that says which and why.

The size limits (`MAX_PIXELS`, `MAX_ASPECT_RATIO`, `MAX_PIXELS_PER_BYTE`) are checked from
the header, before any pixel is decoded: Pillow's `Image.open` reads only the header, so a
small hostile file (a 600-byte 1 x 131,000 PNG, a 330 KB 169-megapixel 16-bit PNG) is
refused in milliseconds. The API, the CLI and the app all read images through here.
"""

import io
import struct
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
"""Suffixes of the image files ganstyle reads: training data, and what counts as an image path
rather than a style name."""
MAX_PIXELS = 40_000_000
"""Largest image (width x height) ganstyle decodes: 40 MP, e.g. 7700 x 5200 (about 120 MB as RGB)."""
MAX_ASPECT_RATIO = 64
"""Longest side / shortest side: thinner images carry no usable picture (a transfer output is at
most 1024 px long, so 16 px thin; a reference is centre-cropped to a square)."""
MAX_PIXELS_PER_BYTE = 1000
"""Pixels a file may claim per byte of its size once it claims more than SMALL_IMAGE_PIXELS.
Real images stay far below it (zlib cannot pack RGB tighter than ~340 pixels per byte, photos
take several bytes per pixel); above it a file is almost surely a decompression bomb."""
SMALL_IMAGE_PIXELS = 4_000_000
"""Images up to this size (16 MB as RGBA) are decoded however small their file."""


class ImageError(ValueError):
    """An input image cannot be used; the message says which file and why."""


def check_image_size(width: int, height: int, label: str = "the image", file_bytes: int = None,
                     max_pixels: int = MAX_PIXELS) -> None:
    """Refuse (ImageError) an image whose size alone makes it unusable or dangerous: more than
    `max_pixels` pixels, sides further apart than MAX_ASPECT_RATIO, or (when the file's size
    is known) more than MAX_PIXELS_PER_BYTE pixels per byte of a file above SMALL_IMAGE_PIXELS."""
    pixels = width * height
    if pixels > max_pixels:
        raise ImageError(f"{label} is {width}x{height} pixels ({pixels / 1e6:.3g} MP); at most "
                         f"{max_pixels / 1e6:.3g} MP are accepted. Downscale it first.")
    if min(width, height) > 0 and max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageError(f"{label} is {width}x{height} pixels, more than {MAX_ASPECT_RATIO}:1; crop it to a "
                         "less elongated picture first.")
    if file_bytes and pixels > max(SMALL_IMAGE_PIXELS, MAX_PIXELS_PER_BYTE * file_bytes):
        raise ImageError(f"{label} claims {width}x{height} pixels in a file of only {file_bytes:,} bytes "
                         f"(more than {MAX_PIXELS_PER_BYTE} pixels per byte); it is refused as a possible "
                         "decompression bomb.")


def check_image_file(source, label: str = "the image") -> None:
    """Refuse (ImageError) a path or bytes whose header Pillow cannot read, or whose size
    `check_image_size` refuses, without decoding any pixel: for callers that hand the file
    on to another reader (the web app, before Gradio opens it)."""
    file_bytes = len(source) if isinstance(source, (bytes, bytearray)) else Path(source).stat().st_size
    try:
        with _open_header(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        raise ImageError(f"{label} is too large to open safely; downscale it first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError):
        raise ImageError(f"{label}: the file is not an image that can be read (PNG, JPEG, WebP...)") from None
    if width == 0 or height == 0:
        raise ImageError(f"{label} has zero size ({width}x{height})")
    check_image_size(width, height, label, file_bytes)


def _remaining_bytes(source) -> int:
    """Bytes left to read in a seekable file object (None when it cannot be told)."""
    try:
        position = source.tell()
        size = source.seek(0, io.SEEK_END) - position
        source.seek(position)
        return size
    except (AttributeError, OSError, ValueError):
        return None


def _open_header(source) -> Image.Image:
    """Image.open (reads the header only), without Pillow's warning above 89 MP: ganstyle's
    own, lower limit refuses those images next."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(source)


def _gray8(image: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit integer or float single-channel image as 8-bit grey, in float32 (a
    40 MP image takes 160 MB, not the 320 MB of float64). 16-bit images are scaled from
    0-65535; others from 0-255, or from 0-65535 when they hold larger values."""
    array = np.array(image, dtype=np.float32)  # a writable copy, scaled in place below
    peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
    array *= np.float32(255.0 / peak)
    array += np.float32(0.5)
    return Image.fromarray(np.clip(array, 0, 255, out=array).astype(np.uint8), "L")


def _array_image(array: np.ndarray) -> Image.Image:
    """An HxW or HxWxC (C = 1, 3 or 4) uint8 array as a PIL image; anything else is refused
    with a message, rather than Pillow's 'Cannot handle this data type'."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an image array must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ImageError(f"an image array must hold uint8 values 0-255, got {array.dtype} "
                         "(convert float images with (array * 255).round().astype(np.uint8))")
    return Image.fromarray(np.ascontiguousarray(array))


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB version of `image`: transparency is composited on white, 16-bit and float
    images are rescaled to 0-255, CMYK and palette images are converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _gray8(image)
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def open_image(source, name: str = None, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open a path, bytes, file object, PIL image or HxWxC uint8 array as an RGB PIL image.

    Refuses with `ImageError`: missing files, files that are not images, truncated images,
    zero-size images, arrays that are not uint8 HxW[xC], and images of more than `max_pixels`
    (width x height), too thin or too compressible (`check_image_size`, from the header before
    decoding). Animated images give their first frame."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "the image")
    if len(label) > 200:  # a hostile "file name" must not flood messages and logs
        label = f"{label[:100]}... ({len(label):,} characters)"
    opened = None  # a file this function opened: closed on every path, success or not
    file_bytes = None  # the encoded size, for the pixels-per-byte check
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, np.ndarray):
            image = _array_image(source)
        elif isinstance(source, (str, Path)):
            if not Path(source).is_file():
                raise ImageError(f"{label}: no such file")
            if Path(source).stat().st_size == 0:
                raise ImageError(f"{label} is empty (0 bytes)")
            file_bytes = Path(source).stat().st_size
            image = opened = _open_header(source)
        elif isinstance(source, (bytes, bytearray)):
            if not source:
                raise ImageError(f"{label} is empty (0 bytes)")
            file_bytes = len(source)
            image = _open_header(io.BytesIO(source))
        elif hasattr(source, "read"):
            file_bytes = _remaining_bytes(source)
            image = _open_header(source)
        else:
            raise TypeError(f"expected a path, PIL image, bytes or numpy array, got {type(source).__name__}")
        if image.width == 0 or image.height == 0:
            raise ImageError(f"{label} has zero size ({image.width}x{image.height})")
        check_image_size(image.width, image.height, label, file_bytes, max_pixels)
        image = ImageOps.exif_transpose(image)
        image.load()
        return to_rgb(image)
    except Image.DecompressionBombError:
        raise ImageError(
            f"{label} is too large to open safely (more than {Image.MAX_IMAGE_PIXELS:,} pixels; "
            "Pillow refuses it as a possible decompression bomb). Downscale it first."
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"{label} is not an image file Pillow can read") from None
    except MemoryError:
        raise ImageError(f"{label} needs more memory to decode than this machine has") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as err:
        if isinstance(err, ImageError):
            raise
        if isinstance(err, OSError) and err.filename is not None:  # the file system's error, e.g. a name too long
            raise ImageError(f"{label} cannot be read: {err.strerror}") from None
        raise ImageError(f"{label} could not be decoded (truncated or corrupt?): {err}") from None
    finally:
        if opened is not None:
            opened.close()


def resize_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize so the short side is `size`, then centre-crop to a size x size square. An image
    thinner than MAX_ASPECT_RATIO is first cut to its centre strip of that ratio, so a
    1 x 131,000 image cannot make a 64 x 8,384,000 intermediate (only the centre survives
    the crop anyway)."""
    band = MAX_ASPECT_RATIO * min(image.size)
    if max(image.size) > band:
        width, height = min(image.width, band), min(image.height, band)
        left, top = (image.width - width) // 2, (image.height - height) // 2
        image = image.crop((left, top, left + width, top + height))
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (width - size) // 2, (height - size) // 2
    return image.crop((left, top, left + size, top + size))


def from_uint8(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixel values (any shape) -> float32 in [-1, 1], the range every network takes."""
    return pixels.float() / 127.5 - 1


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor (3, H, W), the form image banks keep in memory."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor (3, H, W) in [-1, 1]."""
    return from_uint8(pil_to_uint8(image))


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """Float tensor (3, H, W) in [-1, 1] -> RGB PIL image (values outside are clipped)."""
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).numpy(), "RGB")

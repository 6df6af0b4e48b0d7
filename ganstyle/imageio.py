"""Reading user images safely and converting between PIL images and tensors.

Every image that enters ganstyle (training data, photos, references) goes through
`open_image`, so all of them get the same treatment: EXIF orientation applied, any mode
(RGBA, LA, P, L, I;16, CMYK, ...) turned into 8-bit RGB, and unreadable, truncated,
empty or oversized files refused with a message that says which and why.
"""

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


class ImageError(ValueError):
    """An input image cannot be used; the message says which file and why."""


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB version of `image`: transparency is composited on white, 16-bit and float
    images are rescaled to 0-255, CMYK and palette images are converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def open_image(source, name: str = None, max_pixels: int = None) -> Image.Image:
    """Open a path, bytes, file object, PIL image or HxWxC uint8 array as an RGB PIL image.

    Refuses with `ImageError`: missing files, files that are not images, truncated images,
    zero-size images, images of more than `max_pixels` (width x height; checked before
    decoding) and decompression bombs (more pixels than Pillow's safety limit)."""
    label = name or (str(source) if isinstance(source, (str, Path)) else "the image")
    opened = None  # a file this function opened: closed on every path, success or not
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, np.ndarray):
            image = Image.fromarray(source)
        elif isinstance(source, (str, Path)):
            if not Path(source).is_file():
                raise ImageError(f"{label}: no such file")
            if Path(source).stat().st_size == 0:
                raise ImageError(f"{label} is empty (0 bytes)")
            image = opened = Image.open(source)
        elif isinstance(source, bytes):
            if not source:
                raise ImageError(f"{label} is empty (0 bytes)")
            image = Image.open(io.BytesIO(source))
        elif hasattr(source, "read"):
            image = Image.open(source)
        else:
            raise TypeError(f"expected a path, PIL image, bytes or numpy array, got {type(source).__name__}")
        if image.width == 0 or image.height == 0:
            raise ImageError(f"{label} has zero size ({image.width}x{image.height})")
        if max_pixels and image.width * image.height > max_pixels:
            raise ImageError(f"{label} is {image.width}x{image.height} pixels ({image.width * image.height / 1e6:.3g} "
                             f"MP); at most {max_pixels / 1e6:.3g} MP are accepted. Downscale it first.")
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
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ImageError):
            raise
        raise ImageError(f"{label} could not be decoded (truncated or corrupt?): {err}") from None
    finally:
        if opened is not None:
            opened.close()


def resize_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize so the short side is `size`, then centre-crop to a size x size square."""
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (width - size) // 2, (height - size) // 2
    return image.crop((left, top, left + size, top + size))


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor (3, H, W) in [-1, 1]."""
    array = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    return array.permute(2, 0, 1).float() / 127.5 - 1


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """Float tensor (3, H, W) in [-1, 1] -> RGB PIL image (values outside are clipped)."""
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).numpy(), "RGB")

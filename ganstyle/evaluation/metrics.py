"""Evaluation metrics as pure functions on feature tensors and images (torch only).

- `fid_from_features`: Fréchet distance between Gaussians fitted to two feature sets.
- `kid_unbiased`: kernel inception distance (unbiased MMD^2, cubic polynomial kernel),
  mean and standard deviation over random subsets.
- `mean_pairwise_distance`: diversity, the mean cosine distance between every pair of a set.
- `ssim`: structural similarity of two images (content preservation).
- `cosine_similarity_rows`: row-wise cosine similarity of two feature sets.
- `border_ratio`: how much more an image changed in its outer band than inside (frames).
- `LinearProbe` / `fit_linear_probe`: multinomial logistic regression on standardized
  features, fitted full-batch with L-BFGS (deterministic; no scikit-learn).

Features are (n, d) tensors (or arrays); computation is in float64.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..nets.style_classifier import fit_logistic_regression


def _as_float64(x) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not torch.is_tensor(x):
        x = torch.as_tensor(x)
    x = x.detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D (n, d) array, got shape {tuple(x.shape)}")
    return x


# --------------------------------------------------------------------------- FID
def fid_from_features(real, fake) -> float:
    """Fréchet distance ||mu_r - mu_f||^2 + tr(S_r + S_f - 2 (S_r S_f)^(1/2)) between the
    Gaussians fitted to two feature sets (unbiased covariances; each set needs >= 2 rows).

    tr((S_r S_f)^(1/2)) is the sum of the square roots of the eigenvalues of S_r S_f. With
    S = A^T A (A the centred features / sqrt(n-1)) those are the squared singular values of
    A_r A_f^T, an n_r x n_f matrix, which is exact and much cheaper than a d x d matrix square
    root when there are fewer samples than feature dimensions (the usual case here)."""
    real, fake = _as_float64(real), _as_float64(fake)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID needs at least 2 samples per set, got {len(real)} and {len(fake)}")
    mu_r, mu_f = real.mean(0), fake.mean(0)
    a = (real - mu_r) / math.sqrt(len(real) - 1)
    b = (fake - mu_f) / math.sqrt(len(fake) - 1)
    d = real.shape[1]
    if len(real) * len(fake) <= d * d:
        trace_sqrt = torch.linalg.svdvals(a @ b.T).sum()
    else:
        # eigenvalues of S_r^(1/2) S_f S_r^(1/2) (symmetric PSD) equal those of S_r S_f
        s_r, s_f = a.T @ a, b.T @ b
        vals, vecs = torch.linalg.eigh(s_r)
        root = (vecs * vals.clamp_min(0).sqrt()) @ vecs.T
        trace_sqrt = torch.linalg.eigvalsh(root @ s_f @ root).clamp_min(0).sqrt().sum()
    trace = (a * a).sum() + (b * b).sum()
    fid = (mu_r - mu_f).square().sum() + trace - 2 * trace_sqrt
    return max(float(fid), 0.0)


# --------------------------------------------------------------------------- KID
def _polynomial_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2_from_kernels(k_xx, k_yy, k_xy) -> float:
    m, n = len(k_xx), len(k_yy)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 between two samples with the KID kernel k(a, b) = (a.b / d + 1)^3
    (the diagonal terms k(x_i, x_i) are left out of the within-set means)."""
    x, y = _as_float64(x), _as_float64(y)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(x)} and {len(y)}")
    return _mmd2_from_kernels(_polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y))


def kid_unbiased(real, fake, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> dict:
    """Kernel inception distance: the unbiased MMD^2 (`mmd2_unbiased`) averaged over
    `subsets` random subsets drawn without replacement from each set, with its standard
    deviation over the subsets.

    Subset size: min(subset_size, smaller set // 2), at least 2. Halving keeps the subsets
    different from one another even when a set has fewer images than `subset_size` (the case
    for small validation splits), so the std shows the sampling spread; it over-estimates the
    uncertainty of the mean by about sqrt(2). Each subset estimate is unbiased, so the mean
    is too (it can be slightly negative when the distributions match).

    Returns {"kid": mean, "kid_std": std, "subset_size": m, "subsets": subsets}."""
    real, fake = _as_float64(real), _as_float64(fake)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}")
    if min(len(real), len(fake)) < 4:
        raise ValueError(f"KID needs at least 4 samples per set, got {len(real)} and {len(fake)}")
    size = max(2, min(subset_size, min(len(real), len(fake)) // 2))
    # the kernel matrices of the full sets, computed once; every subset indexes into them
    k_rr, k_ff, k_rf = _polynomial_kernel(real, real), _polynomial_kernel(fake, fake), _polynomial_kernel(real, fake)
    generator = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        r = torch.randperm(len(real), generator=generator)[:size]
        f = torch.randperm(len(fake), generator=generator)[:size]
        values.append(_mmd2_from_kernels(k_rr[r][:, r], k_ff[f][:, f], k_rf[r][:, f]))
    values = torch.tensor(values, dtype=torch.float64)
    std = float(values.std()) if len(values) > 1 else 0.0
    return {"kid": float(values.mean()), "kid_std": std, "subset_size": size, "subsets": subsets}


# --------------------------------------------------------------------------- diversity, similarity
def mean_pairwise_distance(features) -> float:
    """Mean cosine distance (1 - cosine similarity, in [0, 2]) over all unordered pairs of
    rows: 0 when all rows point the same way (identical outputs). Needs >= 2 rows."""
    x = _as_float64(features)
    n = len(x)
    if n < 2:
        raise ValueError(f"diversity needs at least 2 samples, got {n}")
    x = F.normalize(x, dim=1)
    sim = x @ x.T
    off_diagonal = (sim.sum() - sim.diagonal().sum()) / (n * (n - 1))
    return float(1 - off_diagonal)


def cosine_similarity_rows(a, b) -> torch.Tensor:
    """Cosine similarity of row i of `a` with row i of `b`, for every i (float64 tensor)."""
    a, b = _as_float64(a), _as_float64(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    return F.cosine_similarity(a, b, dim=1)


def _luma(images) -> torch.Tensor:
    """(N, 3, H, W) or (3, H, W) values in [0, 255] (tensor or uint8 array HxWx3) -> (N, 1, H, W) luma."""
    x = images
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
        x = x.permute(2, 0, 1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    x = x.to(torch.float64)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return x


def ssim(a, b, window: int = 11, sigma: float = 1.5, data_range: float = 255.0) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) on luma, Gaussian window, per image pair.

    `a`, `b`: images of the same size, values in [0, data_range], as (N, 3, H, W) or
    (N, 1, H, W) tensors or HxWx3 uint8 arrays. Returns a float64 tensor of N values in
    [-1, 1]; 1 means identical. The window shrinks (odd, >= 3) for images smaller than it;
    borders are not padded (valid convolution), as in the reference implementation."""
    x, y = _luma(a), _luma(b)
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs images of the same size, got {tuple(x.shape)} and {tuple(y.shape)}")
    side = min(window, x.shape[-1], x.shape[-2])
    side = side if side % 2 else side - 1
    if side < 3:
        raise ValueError(f"images are too small for SSIM ({x.shape[-1]}x{x.shape[-2]})")
    coords = torch.arange(side, dtype=torch.float64) - (side - 1) / 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    g = (g / g.sum())
    kernel = (g[:, None] * g[None, :]).view(1, 1, side, side)
    blur = lambda t: F.conv2d(t, kernel)  # noqa: E731
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return value.mean(dim=(1, 2, 3))


BORDER_BAND = 0.04
"""Width of the outer band of `border_ratio`, as a share of each side."""


def border_ratio(before, after, band: float = BORDER_BAND, eps: float = 1e-3) -> torch.Tensor:
    """Per image pair: mean |after - before| in the outer band (round(band * side) pixels wide
    on each side, at least 1) over the same in the interior, with `eps` added to both means so
    an unchanged image gives 1 and a change confined to the interior gives about 0.

    About 1 when a transfer changes the picture evenly; printed frames, mounts and corner
    marks that a model paints around the photo push it up. `before`, `after`: images of the
    same size with values in [0, 255], as (N, C, H, W) tensors. Returns a float64 tensor of N
    values."""
    x, y = torch.as_tensor(before, dtype=torch.float64), torch.as_tensor(after, dtype=torch.float64)
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"border_ratio needs two (N, C, H, W) batches of one size, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    h, w = x.shape[-2:]
    bh, bw = max(1, round(band * h)), max(1, round(band * w))
    if 2 * bh >= h or 2 * bw >= w:
        raise ValueError(f"images of {w}x{h} are too small for a border band of {bw}x{bh} px")
    change = (y - x).abs().mean(1)  # (N, H, W), mean over channels
    inside = torch.zeros(h, w, dtype=torch.bool)
    inside[bh:h - bh, bw:w - bw] = True
    return (change[:, ~inside].mean(1) + eps) / (change[:, inside].mean(1) + eps)


# --------------------------------------------------------------------------- linear probe
class LinearProbe:
    """A fitted multinomial logistic regression: standardize, then a linear layer."""

    def __init__(self, mean, scale, weight, bias, classes):
        self.mean, self.scale, self.weight, self.bias = mean, scale, weight, bias
        self.classes = list(classes)

    def logits(self, features) -> torch.Tensor:
        x = (_as_float64(features) - self.mean) / self.scale
        return x @ self.weight.T + self.bias

    def predict(self, features) -> torch.Tensor:
        """Class index of every row (argmax of the logits)."""
        return self.logits(features).argmax(1)

    def probabilities(self, features) -> torch.Tensor:
        return self.logits(features).softmax(1)

    def accuracy(self, features, labels) -> float:
        labels = torch.as_tensor(labels)
        return float((self.predict(features) == labels).double().mean())


def fit_linear_probe(features, labels, classes=None, weight_decay: float = 1e-3, max_iter: int = 500) -> LinearProbe:
    """The linear probe of (features, integer labels): `fit_logistic_regression` (standardized
    features, balanced classes, L-BFGS, deterministic) with its classes named."""
    y = torch.as_tensor(labels, dtype=torch.long)
    classes = list(classes) if classes is not None else list(range(int(y.max()) + 1))
    return LinearProbe(*fit_logistic_regression(_as_float64(features), y, classes, weight_decay, max_iter), classes)

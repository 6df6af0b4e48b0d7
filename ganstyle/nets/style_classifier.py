"""Which style a reference image is in: a linear classifier on the style encoder's features.

The translator's style encoder has one head per style, so reading a reference's style code
needs its style. When the user does not name it, this classifier reads it from the
encoder's shared features. It is fitted whenever a translator is exported with its training
images (a class-balanced logistic regression on frozen features: seconds on a CPU), and
stored beside the translator as the export's `style_classifier` component.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..imageio import from_uint8
from .pretrained import PretrainedModule


@dataclass
class StyleClassifierConfig:
    feature_dim: int = 128
    num_styles: int = 2


class StyleClassifier(PretrainedModule):
    """Style-encoder features (B, feature_dim) -> one logit per style."""

    config_class = StyleClassifierConfig
    role = "style_classifier"

    def __init__(self, config: StyleClassifierConfig):
        super().__init__(config)
        self.register_buffer("feature_mean", torch.zeros(config.feature_dim))
        self.register_buffer("feature_std", torch.ones(config.feature_dim))
        self.linear = nn.Linear(config.feature_dim, config.num_styles)

    def forward(self, features):
        return self.linear((features - self.feature_mean) / self.feature_std)


@torch.no_grad()
def encoder_features(translator, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Style-encoder features of uint8 (N, 3, H, W) or float [-1, 1] images, in batches."""
    device = next(translator.parameters()).device
    chunks = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        if x.dtype == torch.uint8:
            x = from_uint8(x)
        chunks.append(translator.reference_features(x).float().cpu())
    return torch.cat(chunks)


def fit_logistic_regression(features, labels, classes: list, weight_decay: float = 1e-3,
                            max_iter: int = 500) -> tuple:
    """A multinomial logistic regression on standardized features, classes weighted equally
    (each example by 1 / its class count), fitted full-batch in float64 with L-BFGS to the
    weighted cross-entropy plus `weight_decay` * ||W||^2 / 2. Deterministic. Returns (mean,
    scale, weight, bias): logits = ((x - mean) / scale) @ weight.T + bias, a column per entry
    of `classes` (their names, for messages). Refuses a class with no example and a label
    count that differs from the feature rows."""
    x = torch.as_tensor(features).detach().to(torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} feature rows but {len(y)} labels")
    num_classes = len(classes)
    counts = torch.bincount(y, minlength=num_classes).to(torch.float64)
    if (counts == 0).any():
        empty = [str(classes[i]) for i in torch.nonzero(counts == 0).flatten().tolist()]
        raise ValueError(f"no training examples for class(es): {', '.join(empty)}")
    mean, scale = x.mean(0), x.std(0, unbiased=False).clamp_min(1e-6)
    z = (x - mean) / scale
    sample_weight = (1.0 / counts)[y]
    sample_weight = sample_weight / sample_weight.sum()
    weight = torch.zeros(num_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        losses = F.cross_entropy(z @ weight.T + bias, y, reduction="none")
        loss = (losses * sample_weight).sum() + 0.5 * weight_decay * weight.square().sum()
        loss.backward()
        return loss

    with torch.inference_mode(False), torch.enable_grad():
        optimizer.step(closure)
    return mean, scale, weight.detach(), bias.detach()


def fit_style_classifier(translator, images: torch.Tensor, labels: torch.Tensor,
                         weight_decay: float = 1e-3, max_iter: int = 200) -> StyleClassifier:
    """Fit the classifier on labelled training images (`fit_logistic_regression` on the
    translator's reference features; styles weighted equally, so a style with few images is
    not drowned by a large one)."""
    features = encoder_features(translator, images)
    num_styles = translator.config.num_styles
    mean, scale, weight, bias = fit_logistic_regression(features, labels.cpu(), list(range(num_styles)),
                                                        weight_decay, max_iter)
    classifier = StyleClassifier(StyleClassifierConfig(feature_dim=features.shape[1], num_styles=num_styles))
    with torch.no_grad():
        for target, value in ((classifier.feature_mean, mean), (classifier.feature_std, scale),
                              (classifier.linear.weight, weight), (classifier.linear.bias, bias)):
            target.copy_(value)
    return classifier.requires_grad_(False).eval()

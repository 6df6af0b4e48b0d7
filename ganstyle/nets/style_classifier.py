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
            x = x.float() / 127.5 - 1
        chunks.append(translator.reference_features(x).float().cpu())
    return torch.cat(chunks)


def fit_style_classifier(translator, images: torch.Tensor, labels: torch.Tensor,
                         weight_decay: float = 1e-3, max_iter: int = 200) -> StyleClassifier:
    """Fit the classifier on labelled training images (styles weighted equally, so a style
    with few images is not drowned by a large one)."""
    features = encoder_features(translator, images)
    labels = labels.cpu().long()
    num_styles = translator.config.num_styles
    classifier = StyleClassifier(StyleClassifierConfig(feature_dim=features.shape[1], num_styles=num_styles))
    classifier.feature_mean.copy_(features.mean(0))
    classifier.feature_std.copy_(features.std(0) + 1e-6 if len(features) > 1 else torch.ones(features.shape[1]))
    counts = torch.bincount(labels, minlength=num_styles).float()
    class_weights = len(labels) / (num_styles * counts.clamp(min=1))
    nn.init.zeros_(classifier.linear.weight)
    nn.init.zeros_(classifier.linear.bias)
    optimizer = torch.optim.LBFGS(classifier.linear.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(classifier(features), labels, weight=class_weights)
        loss = loss + weight_decay * classifier.linear.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return classifier.requires_grad_(False).eval()

"""Training: settings, augmentation, losses, one training task per model family, checkpoints
and the loop under Accelerate."""

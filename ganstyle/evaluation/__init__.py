"""Evaluation against real images: FID/KID, style-hit rate, diversity, content preservation,
baselines and the real-image feature cache."""

"""Evaluation against real images at 256 px: FID/KID, style-hit rate, photo share, border
figure, diversity, content preservation, the baselines (unchanged photos, Magenta) and the
real-image feature cache."""

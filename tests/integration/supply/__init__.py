"""The images' supply chain against the real registry, cosign and buildah."""

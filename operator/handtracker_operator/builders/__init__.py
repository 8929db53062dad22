"""The children's manifests as pure functions of the spec, one module per kind; kinds.py
holds them in apply order and builds the desired state from them."""

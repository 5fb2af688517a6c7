"""HTTP services of b12kg (optional extra `serve`): one module per service."""

"""Rotating the pseudonymisation key: normalize's state and aggregate's release log rewritten under a
new key, in one transaction, with nothing public changed (docs/normalize.md, "Key lifecycle")."""

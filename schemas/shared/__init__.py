"""The shared schema both platforms are normalised to: what normalize writes and aggregate reads."""

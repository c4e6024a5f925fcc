"""Tests of the simulator: the feed keeps its labels, the world and the tables agree with the taxonomy,
and publishing delivers every message."""

"""The README's main job: the exchange's services on a simulated feed from both platforms."""

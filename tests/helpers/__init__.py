"""Test helpers: synthetic photos, subprocess runs, and callbacks that probe or break a training run."""

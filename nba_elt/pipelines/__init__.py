"""Whole flows built from the pieces: the morning run and the offline demo."""

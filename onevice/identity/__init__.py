"""Identity: the tokens OneVice issues and accepts, turned into viewers."""

"""The no-box section of files made elsewhere (no generator to refit): plan, measures."""

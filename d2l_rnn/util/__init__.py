"""Small shared pieces under everything else: input checks, devices, seeding, the optimiser
steps, atomic file writes, plots, the Python/threads set-up."""

"""A minimal Channels relay for the benchmark baseline; no project code, no database."""

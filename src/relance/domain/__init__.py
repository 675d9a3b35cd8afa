"""The pure core: decisions from snapshots. Imports only the standard library and itself."""

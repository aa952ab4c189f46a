"""headroom."""

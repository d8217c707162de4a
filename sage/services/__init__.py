"""SAGE as a systemd service, and voice control of other systemd units."""

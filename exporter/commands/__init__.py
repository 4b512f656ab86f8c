"""Commands for operators, beside the daemon: `check` and `credentials`."""

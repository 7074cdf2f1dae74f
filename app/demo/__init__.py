"""The demo register: fictional organizations, contacts and agreements loaded through the
services (`ippc demo`), so that a new installation shows a register in use.

`records.py` says what a demo record is, `data.py` holds the register itself (readable data,
no code that writes), and `loader.py` loads it: idempotent, resumable, never in production.
"""

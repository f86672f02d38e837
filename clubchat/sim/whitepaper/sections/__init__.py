"""The whitepaper's sections whose facts need their own runs or tables, one module each.

Each module returns a dict of `Facts` fields (placeholders of `template.md`) that
`clubchat.sim.whitepaper.facts.compute` merges in:

- `changes`    — what changed from model v1 (the bootstrap guard, old vs new headline, tails) and
                 the sensitivity ranking;
- `kinds`      — node rewards per kind: registry designs compared and the chosen split;
- `validation` — Appendix F, the baseline replayed on the real contracts.
"""

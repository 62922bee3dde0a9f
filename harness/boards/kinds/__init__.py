"""Board kinds: one module per lab config `kind:`, registered in harness.boards.registry."""

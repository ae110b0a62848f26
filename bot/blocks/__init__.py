"""Pure Block Kit builders: data in, blocks out."""

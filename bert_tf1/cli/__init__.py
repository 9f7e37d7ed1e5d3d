"""Command-line entry points. Flags are parsed here and passed to library calls as arguments;
library modules never read absl FLAGS."""

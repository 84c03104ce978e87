"""The `segmentum` command line. Interfaces only wire: every command calls the library."""

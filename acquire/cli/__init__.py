"""The `acquire` command line: `main.py` dispatches to one thin module per subcommand."""

docker history --help

docker images --help

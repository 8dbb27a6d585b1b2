docker save --help

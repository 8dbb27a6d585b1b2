docker load --help

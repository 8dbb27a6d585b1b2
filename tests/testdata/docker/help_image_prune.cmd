docker image prune --help

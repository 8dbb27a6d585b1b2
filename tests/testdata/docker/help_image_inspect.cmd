docker image inspect --help
